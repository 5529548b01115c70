"""The authorization request: checked in the order that decides how a refusal is told.

1. What makes redirecting unsafe — an unknown client, a redirect URI not
   registered exactly, a missing or foreign `aud`, an oversized `state` —
   is told on an error page and never redirected (RFC 6749 §4.1.2.1).
2. Everything after is told to the app at its redirect URI, with `state` and
   `iss` (RFC 9207): an unsupported response type, PKCE, a launch that is not
   valid, a user whose role may not launch the app here, scopes of which
   nothing remains after the grant rule.
3. What remains is shown on the consent page: exactly the scopes the grant
   rule leaves, and those it dropped, with the reason for each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from flask import session
from flask_babel import gettext as _
from sqlalchemy import select

from accounts.access import SESSION_KEY, has_role
from accounts.models import LoginSession, Role, User
from auth import clients, patients
from auth.grants import Grant, Launcher, grant_scopes
from auth.models import LaunchContext
from auth.urls import issuer, tenant_for_base
from catalog import scopes as scope_rules
from catalog.models import Audience, LaunchMode
from marketplace import enablements
from marketplace.models import Tenant
from torget import tokens
from torget.db import db, utcnow

MAX_STATE = 1024
MAX_NONCE = 255
# Parameters whose repetition makes the request ambiguous (RFC 6749 §3.1).
_SINGLE = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "aud",
    "launch",
    "code_challenge",
    "code_challenge_method",
    "nonce",
)


class PageError(Exception):
    """Told on Torget's own error page: redirecting would be unsafe."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RedirectError(Exception):
    """Told to the app at its redirect URI (RFC 6749 §4.1.2.1)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass
class Front:
    """An authorization request whose client, redirect URI and audience are known good."""

    params: dict[str, str]
    client: clients.OAuthClient
    tenant: Tenant
    redirect_uri: str

    @property
    def state(self) -> str | None:
        return self.params.get("state") or None

    def redirect_with(self, values: Mapping[str, str]) -> str:
        """The redirect URI with `values`, `state` and `iss` (RFC 9207) added."""
        extra = dict(values)
        if self.state:
            extra["state"] = self.state
        extra["iss"] = issuer()
        separator = "&" if "?" in self.redirect_uri else "?"
        return f"{self.redirect_uri}{separator}{urlencode(extra)}"


@dataclass
class Consent:
    """What the user is asked to approve."""

    front: Front
    grant: Grant
    launcher: Launcher
    decision: enablements.LaunchDecision
    launch: LaunchContext | None
    needs_patient: bool
    needs_encounter: bool
    app_name: str
    extras: dict[str, str] = field(default_factory=dict)


def single_values(multi: Mapping[str, list[str]]) -> dict[str, str]:
    """The request's parameters; a repeated one that must be single is refused."""
    values = {}
    for name, items in multi.items():
        if name in _SINGLE and len(items) > 1:
            raise _repeated(name)
        values[name] = items[0] if items else ""
    return values


def _repeated(name: str) -> PageError:
    return PageError(_("The parameter %(name)s was given more than once.", name=name))


def check_front(params: dict[str, str]) -> Front:
    """Client, audience and redirect URI: what must hold before anything is redirected."""
    client_id = params.get("client_id", "")
    tenant = tenant_for_base(params.get("aud"))
    # The tenant picks the release it pinned, even a suspended one: without it a client whose
    # only release is suspended would read as unknown, not as refused at its redirect URI.
    clients.use_tenant(tenant)
    client = clients.load(client_id) if client_id else None
    if client is None:
        raise PageError(_("The app is not known here (unknown client_id)."))
    if tenant is None:
        raise PageError(
            _(
                "The app did not say which municipality's data it wants: aud must be one "
                "of this server's FHIR bases, such as %(example)s.",
                example=f"{issuer()}/fhir/<kommune>",
            )
        )
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri or not client.check_redirect_uri(redirect_uri):
        raise PageError(
            _(
                "The app's redirect address is not one it registered, "
                "so Torget will not send you there."
            )
        )
    if len(params.get("state", "")) > MAX_STATE:
        raise PageError(
            _("The request's state is too long (at most %(n)d characters).", n=MAX_STATE)
        )
    return Front(params=params, client=client, tenant=tenant, redirect_uri=redirect_uri)


def evaluate(front: Front, user: User, authlib_check: object) -> Consent:
    """The redirect-told checks, then the grant rule. `authlib_check` validates PKCE & co."""
    params = front.params
    try:
        authlib_check()  # type: ignore[operator]
    except OAuth2Error as error:
        raise RedirectError(error.error, error.get_error_description() or "") from None
    if len(params.get("nonce", "")) > MAX_NONCE:
        raise RedirectError("invalid_request", "nonce is too long.")
    decision = enablements.launch_policy(front.client.client_id, front.tenant.slug)
    if not decision.allowed or decision.release is None:
        raise RedirectError("access_denied", decision.reason)
    release = decision.release
    launcher = (
        Launcher.PATIENT if release.application.audience == Audience.PATIENT else Launcher.CLINICIAN
    )
    if not has_role(user, [Role.CLINICIAN], front.tenant.slug):
        raise RedirectError(
            "access_denied",
            _(
                "You do not work in %(tenant)s, so you cannot open its data.",
                tenant=front.tenant.name,
            ),
        )
    if Role.CLINICIAN.value not in decision.roles:
        raise RedirectError(
            "access_denied", _("The municipality has not enabled this app for clinicians.")
        )
    requested = params.get("scope", "")
    if len(requested) > scope_rules.MAX_LENGTH:
        raise RedirectError("invalid_scope", "The scope is too long.")
    words = requested.split()
    launch = None
    if "launch" in words:
        launch = _peek_launch(params.get("launch", ""), front, user)
        if LaunchMode.EHR.value not in release.launch_modes:
            raise RedirectError("invalid_request", "This app is not registered for EHR launch.")
    elif params.get("launch"):
        raise RedirectError("invalid_scope", "A launch parameter needs the scope launch.")
    elif LaunchMode.STANDALONE.value not in release.launch_modes:
        raise RedirectError("invalid_request", "This app is not registered for standalone launch.")
    # A journal that opened the app without a patient leaves the choice to the
    # user, as a standalone launch does (SMART 2.2 lets the server ask).
    needs_patient = "launch/patient" in words and (launch is None or launch.patient is None)
    has_patient = (launch is not None and launch.patient is not None) or needs_patient
    needs_encounter = "launch/encounter" in words and (launch is None or launch.encounter is None)
    grant = grant_scopes(
        requested,
        registered=release.scopes,
        approved=decision.scopes,
        launcher=launcher,
        patient_in_context=has_patient,
    )
    if not grant.granted:
        raise RedirectError(
            "invalid_scope",
            "Nothing requested is registered and approved: "
            + "; ".join(f"{d.scope}: {d.reason}" for d in grant.dropped[:5]),
        )
    granted_names = {s.text for s in grant.granted}
    return Consent(
        front=front,
        grant=grant,
        launcher=launcher,
        decision=decision,
        launch=launch,
        needs_patient=needs_patient and "launch/patient" in granted_names,
        needs_encounter=needs_encounter and "launch/encounter" in granted_names,
        app_name=release.application.name,
    )


class ChoiceMissing(Exception):
    """The user approved without choosing the patient (or encounter) the app needs."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def chosen_context(consent: Consent, patient: str, encounter: str) -> tuple[str | None, str | None]:
    """The patient and encounter the launch will carry: the journal's, or the user's choice.

    A choice counts only when the directory knows it in this municipality
    (and the encounter is the chosen patient's).
    """
    directory = patients.directory()
    tenant = consent.front.tenant
    patient_id = consent.launch.patient if consent.launch else None
    encounter_id = consent.launch.encounter if consent.launch else None
    if consent.needs_patient:
        chosen = directory.get(tenant, patient)
        if chosen is None:
            raise ChoiceMissing(_("Choose a patient."))
        patient_id = chosen.id
    if consent.needs_encounter and patient_id and directory.encounters(tenant, patient_id):
        picked = directory.encounter(tenant, encounter)
        if picked is None or picked.patient_id != patient_id:
            raise ChoiceMissing(_("Choose an encounter."))
        encounter_id = picked.id
    return patient_id, encounter_id


def _peek_launch(value: str, front: Front, user: User) -> LaunchContext:
    """The launch context the app was opened with, not spent yet (that happens on approval)."""
    context = db.session.scalar(
        select(LaunchContext).where(LaunchContext.launch_hash == tokens.digest(value or ""))
    )
    now = utcnow()
    if (
        context is None
        or context.client_id != front.client.client_id
        or context.used_at is not None
        or context.expires_at <= now
    ):
        raise RedirectError(
            "invalid_request", "The launch is not valid: it may be used, expired or another app's."
        )
    if context.tenant_id != front.tenant.id:
        raise RedirectError(
            "invalid_request", "The launch was made for another municipality than aud names."
        )
    if context.user_id is not None and context.user_id != user.id:
        raise RedirectError("access_denied", "The launch was made for another user.")
    return context


def login_session_id() -> int | None:
    """The sign-in session behind this request (online_access ends with it)."""
    raw = session.get(SESSION_KEY)
    if not raw:
        return None
    return db.session.scalar(
        select(LoginSession.id).where(LoginSession.id_hash == tokens.digest(raw))
    )
