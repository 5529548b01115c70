"""The grant rule: what a token may do (architecture.md, "The central rule").

    granted = what the app asked for in this request
            ∩ what the certified release registered
            ∩ what the tenant approved for this app
            ∩ what the user's role allows
            ∩ what the context allows

Never more. A request asking for more is downgraded, not failed: each scope
left out is reported with the reason, for the consent page to show (SMART
App Launch 2.2 lets a server grant fewer scopes than asked for). The caller
refuses the request only when nothing remains.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from flask_babel import gettext as _

from catalog import scopes
from catalog.scopes import Context, NamedScope, ResourceScope, Scope
from torget.errors import Invalid

# Named scopes that speak of a person: a backend service (no user) gets none.
_USER_NAMED = frozenset(scopes.NAMED_SCOPES)


class Launcher(StrEnum):
    """Who the token acts for: the role that bounds its scopes."""

    CLINICIAN = "clinician"  # user/ and patient/ scopes
    PATIENT = "patient"  # patient/ scopes only: their own record
    SYSTEM = "system"  # a backend service: system/ scopes only, no user


@dataclass(frozen=True)
class Dropped:
    scope: str  # as the app wrote it
    reason: str  # in plain words, in the reader's language


@dataclass(frozen=True)
class Grant:
    granted: list[Scope]
    dropped: list[Dropped]

    @property
    def scope(self) -> str:
        """The granted scopes as OAuth writes them (RFC 6749 §3.3)."""
        return " ".join(s.text for s in self.granted)


def _parse_all(text: str | Iterable[str]) -> list[Scope]:
    """Registered or approved scopes (checked when saved); one that no longer parses is none."""
    tokens = text.split() if isinstance(text, str) else list(text)
    parsed = []
    for token in tokens:
        try:
            parsed.append(scopes.parse_scope(token))
        except Invalid:
            continue
    return parsed


def _role_refusal(scope: Scope, launcher: Launcher) -> str | None:
    if isinstance(scope, NamedScope):
        if scope.name in scopes.SYSTEM_NAMED_SCOPES and launcher != Launcher.SYSTEM:
            return _("Only a journal system (a backend service) may start launches.")
        if launcher == Launcher.SYSTEM and scope.name in _USER_NAMED:
            return _("A backend service acts without a user: it gets no user or launch scopes.")
        return None
    if scope.context == Context.SYSTEM and launcher != Launcher.SYSTEM:
        return _("system/ scopes are for backend services only.")
    if scope.context != Context.SYSTEM and launcher == Launcher.SYSTEM:
        return _("A backend service gets system/ scopes only.")
    if scope.context == Context.USER and launcher == Launcher.PATIENT:
        return _("A patient's app sees the patient's own record only (patient/ scopes).")
    return None


def grant_scopes(
    requested: str,
    *,
    registered: str | Iterable[str],
    approved: str | Iterable[str],
    launcher: Launcher,
    patient_in_context: bool,
) -> Grant:
    """The scopes a launch gets under the grant rule, and why each other one was left out.

    `patient_in_context`: the launch carries a patient (an EHR launch with one,
    or a standalone launch where the user will pick one with `launch/patient`).
    """
    registered_scopes = _parse_all(registered)
    approved_scopes = _parse_all(approved)
    granted: list[Scope] = []
    dropped: list[Dropped] = []
    for token in requested.split():
        try:
            wanted = scopes.parse_scope(token)
        except Invalid:
            dropped.append(Dropped(token, _("This is not a SMART scope.")))
            continue
        within_release = scopes.intersect([wanted], registered_scopes)
        if not within_release:
            dropped.append(Dropped(token, _("The app's certified release did not register it.")))
            continue
        within_approval = scopes.intersect(within_release, approved_scopes)
        if not within_approval:
            dropped.append(Dropped(token, _("The municipality has not approved it for this app.")))
            continue
        refusal = _role_refusal(wanted, launcher)
        if refusal is None and _needs_patient(wanted) and not patient_in_context:
            refusal = _("There is no patient in the launch context.")
        if refusal is not None:
            dropped.append(Dropped(token, refusal))
            continue
        granted.extend(s for s in within_approval if s not in granted)
    return Grant(granted=_without_covered(granted), dropped=dropped)


def _needs_patient(scope: Scope) -> bool:
    return isinstance(scope, ResourceScope) and scope.context == Context.PATIENT


def _without_covered(granted: list[Scope]) -> list[Scope]:
    """Leave out scopes another granted scope covers, so the grant reads short."""
    return [
        s
        for i, s in enumerate(granted)
        if not any(
            j != i and other != s and scopes.covers(other, s) for j, other in enumerate(granted)
        )
    ]
