"""Releases: drafts, evidence, submission, and the certification life cycle.

    draft → submitted → in_review → certified | rejected
    certified → suspended → certified (reinstated) | revoked
    certified → superseded (a newer release of the app was certified)
    superseded → suspended | revoked;  certified → revoked

Every state change goes through `_move`, which refuses any other transition and
writes the append-only history (`ReleaseEvent`): who, when, from, to and why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, func, select

from accounts.models import User
from catalog import applications, credentials, criteria, keys, redirect_uris, scopes, vendors
from catalog.models import (
    Application,
    ClientType,
    Criterion,
    Environment,
    Evidence,
    LaunchMode,
    Release,
    ReleaseEvent,
    ReleaseState,
)
from catalog.semver import Version
from catalog.urls import check_web_url
from torget.db import add_unique, db, utcnow
from torget.errors import Conflict, FieldErrors, Invalid, NotFound

S = ReleaseState

# Which state may follow which. Anything else is refused with a clear message.
TRANSITIONS: dict[ReleaseState, set[ReleaseState]] = {
    S.DRAFT: {S.SUBMITTED},
    S.SUBMITTED: {S.IN_REVIEW},
    S.IN_REVIEW: {S.CERTIFIED, S.REJECTED},
    S.CERTIFIED: {S.SUSPENDED, S.SUPERSEDED, S.REVOKED},
    S.SUPERSEDED: {S.SUSPENDED, S.REVOKED},
    S.SUSPENDED: {S.CERTIFIED, S.SUPERSEDED, S.REVOKED},
    S.REJECTED: set(),
    S.REVOKED: set(),
}

# Releases a tenant may launch: certified, or superseded but still pinned.
LAUNCHABLE = frozenset({S.CERTIFIED, S.SUPERSEDED})
# Releases under or past review: their content is frozen.
SUBMITTED_STATES = frozenset(set(ReleaseState) - {S.DRAFT})

MAX_TEXT = 20_000


class StoredDocument(Protocol):
    """A document `catalog.files` has checked and stored."""

    sha256: str
    content_type: str
    size: int


@dataclass(frozen=True)
class ReleaseInput:
    """A draft's fields, as the forms and the API send them. None: leave as is."""

    version: str | None = None
    client_type: str | None = None
    launch_url: str | None = None
    redirect_uris: list[str] | None = None
    jwks_url: str | None = None
    jwks: dict[str, Any] | None = None
    scopes: str | None = None
    launch_modes: list[str] | None = None
    release_notes: str | None = None
    data_use_statement: str | None = None
    # Fields to empty (None above means "unchanged").
    clear: frozenset[str] = field(default_factory=frozenset)


def jwks_fetcher() -> keys.JwksFetcher:
    """The process's key set fetcher (made by `catalog.init_app`)."""
    return current_app.extensions["torget_jwks"]


# --- reading -----------------------------------------------------------------


def get(release_id: int) -> Release:
    release = db.session.get(Release, release_id)
    if release is None:
        raise NotFound(_("No release has the number %(id)s.", id=release_id))
    return release


def get_for_app(application: Application, version: str) -> Release:
    release = db.session.scalar(
        select(Release).where(Release.application_id == application.id, Release.version == version)
    )
    if release is None:
        raise NotFound(
            _("%(app)s has no release %(version)s.", app=application.name, version=version)
        )
    return release


def for_application(application: Application) -> list[Release]:
    """The app's releases, newest version first."""
    rows = db.session.scalars(select(Release).where(Release.application_id == application.id))
    return sorted(rows, key=lambda r: Version(r.version), reverse=True)


def history(release: Release) -> list[ReleaseEvent]:
    return list(
        db.session.scalars(
            select(ReleaseEvent)
            .where(ReleaseEvent.release_id == release.id)
            .order_by(ReleaseEvent.at, ReleaseEvent.id)
        )
    )


def previous_certified(release: Release) -> Release | None:
    """The newest release older than this one that was ever certified, for diffs."""
    older = [
        r
        for r in for_application(release.application)
        if Version(r.version) < Version(release.version)
        and (r.certified_at is not None or r.state in LAUNCHABLE)
    ]
    return older[0] if older else None


@dataclass(frozen=True)
class ScopeDiff:
    added: list[str]
    removed: list[str]
    kept: list[str]
    launch_modes_added: list[str]
    launch_modes_removed: list[str]

    @property
    def widens(self) -> bool:
        return bool(self.added)


def diff(old: Release | None, new: Release) -> ScopeDiff:
    """What `new` asks for beyond (and no longer asks for compared to) `old`."""
    before = old.scope_list if old else []
    after = new.scope_list
    modes_before = old.launch_modes if old else []
    return ScopeDiff(
        added=[s for s in after if s not in before],
        removed=[s for s in before if s not in after],
        kept=[s for s in after if s in before],
        launch_modes_added=[m for m in new.launch_modes if m not in modes_before],
        launch_modes_removed=[m for m in modes_before if m not in new.launch_modes],
    )


# --- drafts ------------------------------------------------------------------


def _check_version(application: Application, text: str, errors: FieldErrors) -> str:
    text = (text or "").strip()
    try:
        version = Version(text)
    except ValueError:
        errors.add("version", _("Use a semantic version such as 1.4.0 or 2.0.0-rc.1."))
        return text
    existing = [Version(r.version) for r in for_application(application)]
    if existing and version <= max(existing):
        errors.add(
            "version",
            _(
                "A new release needs a version above %(latest)s.",
                latest=str(max(existing)),
            ),
        )
    return text


def create_draft(application: Application, data: ReleaseInput, *, by: User) -> Release:
    """A new draft. Only the version and the client type are needed to start."""
    vendors.require_member(by, application.vendor)
    errors = FieldErrors()
    version = _check_version(application, data.version or "", errors)
    client_type = _client_type(data.client_type, errors)
    errors.raise_if_any()
    release = Release(
        application=application,
        version=version,
        client_type=client_type,
        state=S.DRAFT,
        redirect_uris=[],
        launch_modes=[],
        created_by_id=by.id,
    )
    _apply(release, data, FieldErrors(), skip={"version", "client_type"})
    add_unique(release, _("%(app)s has a release %(v)s already.", app=application.name, v=version))
    db.session.add(
        ReleaseEvent(release_id=release.id, from_state=None, to_state=S.DRAFT, actor_id=by.id)
    )
    return release


def _client_type(value: str | None, errors: FieldErrors) -> ClientType | None:
    try:
        return ClientType(value)
    except ValueError:
        errors.add("client_type", _("Choose one of the options."))
        return None


def update_draft(
    release: Release, data: ReleaseInput, *, by: User, expected_version: int | None = None
) -> Release:
    """Change a draft. Submitted releases never change: a change is a new release."""
    vendors.require_member(by, release.application.vendor)
    require_draft(release)
    applications.check_version(release.version_id, expected_version)
    errors = FieldErrors()
    if data.version is not None and data.version != release.version:
        errors.add("version", _("The version is fixed once the draft exists."))
    _apply(release, data, errors, skip={"version"})
    db.session.flush()  # bump version_id now: the response's ETag is the new one
    return release


def require_draft(release: Release) -> None:
    if release.state != S.DRAFT:
        raise Conflict(
            _(
                "Release %(version)s is %(state)s and cannot change. Make a new release instead.",
                version=release.version,
                state=state_label(release.state),
            )
        )


def _apply(release: Release, data: ReleaseInput, errors: FieldErrors, *, skip: set[str]) -> None:
    """Validate what `data` sets and set it; raise Invalid with every problem at once."""
    values: dict[str, Any] = {}
    if "client_type" not in skip and data.client_type is not None:
        values["client_type"] = _client_type(data.client_type, errors)
    client_type = values.get("client_type") or release.client_type
    audience = release.application.audience
    if data.launch_url is not None:
        values["launch_url"] = check_web_url(data.launch_url, "launch_url", errors)
    if data.redirect_uris is not None:
        try:
            values["redirect_uris"] = redirect_uris.validate_redirect_uris(data.redirect_uris)
        except Invalid as error:
            errors.merge(error)
    if data.jwks_url is not None:
        try:
            values["jwks_url"] = keys.validate_jwks_url(
                data.jwks_url.strip(),
                allow_insecure_loopback=jwks_fetcher().allow_insecure_loopback,
            )
        except Invalid as error:
            errors.merge(error)
    if data.jwks is not None:
        try:
            values["jwks"] = keys.validate_jwk_set(data.jwks)
        except Invalid as error:
            errors.merge(error, prefix="jwks.")
    if data.scopes is not None:
        try:
            parsed = scopes.parse_scopes(data.scopes)
            scopes.check_requested(parsed, audience.value)
            values["scopes"] = " ".join(s.canonical for s in parsed)
        except Invalid as error:
            errors.merge(error)
    if data.launch_modes is not None:
        modes = []
        for mode in data.launch_modes:
            try:
                modes.append(LaunchMode(mode).value)
            except ValueError:
                errors.add("launch_modes", _("A launch mode is ehr or standalone."))
        values["launch_modes"] = sorted(set(modes))
    for name, limit in (("release_notes", MAX_TEXT), ("data_use_statement", MAX_TEXT)):
        text = getattr(data, name)
        if text is not None:
            text = text.strip()
            errors.check(len(text) <= limit, name, _("At most %(n)d characters.", n=limit))
            values[name] = text
    for name in data.clear:
        if name in {"launch_url", "jwks_url", "jwks"}:
            values[name] = None
        elif name in {"redirect_uris", "launch_modes"}:
            values[name] = []
    errors.raise_if_any()
    for name, value in values.items():
        setattr(release, name, value)
    if client_type is not None and not ClientType(client_type).uses_keys:
        # Keys belong to key-based clients only; a switch away drops them.
        release.jwks_url = None
        release.jwks = None


def missing(release: Release, today: dt.date | None = None) -> list[str]:
    """What a draft still lacks before it can be submitted, in plain words."""
    today = today or utcnow().date()
    gaps: list[str] = []
    backend = release.client_type == ClientType.BACKEND
    if not release.scope_list:
        gaps.append(_("The scopes the app asks for."))
    if backend:
        if release.launch_modes:
            gaps.append(_("A backend service has no launch modes: remove them."))
    else:
        if not release.launch_modes:
            gaps.append(_("At least one launch mode (EHR or standalone)."))
        if not release.redirect_uris:
            gaps.append(_("At least one redirect URI."))
        if not release.launch_url:
            gaps.append(_("The launch URL."))
    if release.client_type.uses_keys and not (release.jwks_url or release.jwks):
        gaps.append(_("The app's public keys: a JWKS URL or a JWK Set."))
    if not release.release_notes:
        gaps.append(_("Release notes."))
    if not release.data_use_statement:
        gaps.append(_("The data-use statement: what the app reads and writes, and why."))
    covered = {
        e.criterion_id for e in release.evidence if e.expires_on is None or e.expires_on > today
    }
    for criterion in criteria.active():
        if criterion.mandatory and criterion.id not in covered:
            gaps.append(
                _(
                    "Evidence for %(code)s: %(title)s.",
                    code=criterion.code,
                    title=criteria.title(criterion),
                )
            )
    return gaps


# --- evidence ----------------------------------------------------------------


def add_evidence(
    release: Release,
    criterion: Criterion,
    document: StoredDocument,
    *,
    filename: str,
    issued_on: dt.date,
    expires_on: dt.date | None,
    by: User,
) -> Evidence:
    vendors.require_member(by, release.application.vendor)
    require_draft(release)
    today = utcnow().date()
    errors = FieldErrors()
    errors.check(criterion.retired_at is None, "criterion", _("This criterion is retired."))
    errors.check(issued_on <= today, "issued_on", _("The issue date cannot be in the future."))
    if expires_on is not None:
        errors.check(
            expires_on > issued_on,
            "expires_on",
            _("The expiry date must come after the issue date."),
        )
        errors.check(expires_on > today, "expires_on", _("This document has expired already."))
    errors.raise_if_any()
    evidence = Evidence(
        criterion=criterion,
        filename=(filename or "document")[:200],
        content_type=document.content_type,
        sha256=document.sha256,
        size=document.size,
        issued_on=issued_on,
        expires_on=expires_on,
        uploaded_by_id=by.id,
    )
    release.evidence.append(evidence)
    db.session.flush()  # generate evidence.id for the response
    return evidence


def get_evidence(release: Release, evidence_id: int) -> Evidence:
    """One of the release's evidence documents; NotFound for any other id."""
    for evidence in release.evidence:
        if evidence.id == evidence_id:
            return evidence
    raise NotFound(_("The release has no such evidence."))


def remove_evidence(release: Release, evidence_id: int, *, by: User) -> None:
    vendors.require_member(by, release.application.vendor)
    require_draft(release)
    for evidence in release.evidence:
        if evidence.id == evidence_id:
            release.evidence.remove(evidence)
            return
    raise NotFound(_("The release has no such evidence."))


# --- the life cycle ------------------------------------------------------------


def state_label(state: ReleaseState) -> str:
    labels = {
        S.DRAFT: _("draft"),
        S.SUBMITTED: _("submitted"),
        S.IN_REVIEW: _("in review"),
        S.CERTIFIED: _("certified"),
        S.REJECTED: _("rejected"),
        S.SUSPENDED: _("suspended"),
        S.REVOKED: _("revoked"),
        S.SUPERSEDED: _("superseded"),
    }
    return labels[state]


def _move(release: Release, to: ReleaseState, *, by: User | None, reason: str = "") -> None:
    """The one place a release changes state: checked, and written to the history."""
    if to not in TRANSITIONS[release.state]:
        raise Conflict(
            _(
                "A release that is %(from)s cannot become %(to)s.",
                **{"from": state_label(release.state), "to": state_label(to)},
            )
        )
    db.session.add(
        ReleaseEvent(
            release_id=release.id,
            from_state=release.state,
            to_state=to,
            reason=reason,
            actor_id=by.id if by else None,
        )
    )
    release.state = to


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise Invalid(_("Give a reason: the vendor reads it."), field="reason")
    if len(text) > 5000:
        raise Invalid(_("At most %(n)d characters.", n=5000), field="reason")
    return text


def submit(release: Release, *, by: User) -> Release:
    """Send a complete draft for certification; its sandbox client works from now on."""
    vendors.require_member(by, release.application.vendor)
    if release.state != S.DRAFT:
        raise Conflict(
            _("Release %(version)s has been submitted already.", version=release.version)
        )
    gaps = missing(release)
    if gaps:
        raise Invalid(_("The release is not complete yet."), fields={"release": gaps})
    if release.client_type.uses_keys and release.jwks_url:
        # The reviewer and the token endpoint need these keys: make sure now
        # that the address serves a valid key set (JwksUnavailable is a 502).
        jwks_fetcher().get(release.jwks_url, force_refresh=True)
    _move(release, S.SUBMITTED, by=by)
    release.submitted_at = utcnow()
    credentials.ensure_client(release.application, Environment.SANDBOX)
    return release


def start_review(release: Release, *, by: User) -> Release:
    _move(release, S.IN_REVIEW, by=by)
    return release


def certify(release: Release, *, by: User, reason: str = "") -> Release:
    """Certify; older certified releases of the app become superseded."""
    _move(release, S.CERTIFIED, by=by, reason=(reason or "").strip())
    release.certified_at = utcnow()
    credentials.ensure_client(release.application, Environment.PRODUCTION)
    _supersede_around(release)
    return release


def _supersede_around(release: Release) -> None:
    """Only the newest certified release stays `certified`."""
    mine = Version(release.version)
    for other in for_application(release.application):
        if other.id == release.id or other.state != S.CERTIFIED:
            continue
        newer, older = (other, release) if Version(other.version) > mine else (release, other)
        _move(
            older,
            S.SUPERSEDED,
            by=None,
            reason=_("Release %(version)s was certified.", version=newer.version),
        )


def reject(release: Release, *, by: User, reason: str) -> Release:
    _move(release, S.REJECTED, by=by, reason=_reason(reason))
    return release


def suspend(release: Release, *, by: User | None, reason: str) -> Release:
    """Stop new launches now; tenants see the release as stopped, with the reason."""
    _move(release, S.SUSPENDED, by=by, reason=_reason(reason))
    return release


def reinstate(release: Release, *, by: User, reason: str) -> Release:
    """Back to certified, or to superseded if a newer release was certified meanwhile."""
    newer_certified = any(
        r.state == S.CERTIFIED and Version(r.version) > Version(release.version)
        for r in for_application(release.application)
    )
    _move(release, S.SUPERSEDED if newer_certified else S.CERTIFIED, by=by, reason=_reason(reason))
    if not newer_certified:
        _supersede_around(release)
    return release


def revoke(release: Release, *, by: User, reason: str) -> Release:
    """Final: the release never launches again."""
    _move(release, S.REVOKED, by=by, reason=_reason(reason))
    return release


def notice(release: Release, text: str) -> None:
    """A line in the history that changes no state (an expiry warning)."""
    db.session.add(ReleaseEvent(release_id=release.id, reason=text, actor_id=None))


def last_suspension(*release_ids: Any) -> Select[tuple[dt.datetime | None]]:
    """When any of the releases was last suspended: the newest SUSPENDED entry of their history.

    `release_ids` are ids or columns (a correlated subquery); a reinstated
    release keeps the time of its suspension.
    """
    return select(func.max(ReleaseEvent.at)).where(
        ReleaseEvent.release_id.in_(release_ids), ReleaseEvent.to_state == S.SUSPENDED
    )


def launchable_for(application: Application) -> list[Release]:
    return [r for r in for_application(application) if r.state in LAUNCHABLE]


def current_certified(application: Application) -> Release | None:
    return next((r for r in for_application(application) if r.state == S.CERTIFIED), None)
