"""Enablements: a municipality turns an app on, approves its scopes, moves releases, turns it off.

The central rule (architecture.md) starts here: what a token may do is at most
what the tenant approved for the app, on the release it is pinned to. A newer
release changes nothing until the tenant's admin moves to it; a release that
asks for more waits for the admin to approve the new scopes. `launch_policy`
answers the authorization server's one question: may this client launch for
this tenant now, with which scopes and roles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, select
from sqlalchemy.orm import defaultload, lazyload

from accounts.models import Organisation, Role, User
from catalog import credentials, releases, scopes
from catalog.models import Application, Audience, Client, Environment, Release
from catalog.semver import Version
from marketplace import tenants, terms
from marketplace.models import (
    Enablement,
    EnablementEvent,
    EnablementEventKind,
    EnablementState,
    ExitStep,
    Tenant,
    TermsAcceptance,
)
from torget.db import add_unique, db, utcnow
from torget.errors import Conflict, FieldErrors, Forbidden, Invalid, NotFound, PreconditionFailed

# Who may launch an enabled app. Patients launch once they can sign in (a later issue).
LAUNCH_ROLES = (Role.CLINICIAN.value, "patient")
MAX_NOTE = 2000


@dataclass(frozen=True)
class Access:
    """What an admin approves: scopes (each within the release's) and the roles that launch."""

    scopes: list[str]
    roles: list[str]


# --- reading -------------------------------------------------------------------


def require_admin(user: User, tenant: Tenant) -> None:
    """Only the municipality's own admins decide for it (Bergen never acts for Oslo)."""
    if not any(
        m.role == Role.MUNICIPAL_ADMIN and m.organisation_id == tenant.organisation_id
        for m in user.memberships
    ):
        raise Forbidden(
            _("Only administrators of %(tenant)s decide which apps it uses.", tenant=tenant.name)
        )


def find(tenant: Tenant, application: Application) -> Enablement | None:
    return db.session.scalar(
        select(Enablement).where(
            Enablement.tenant_id == tenant.id, Enablement.application_id == application.id
        )
    )


def get(tenant: Tenant, application: Application) -> Enablement:
    enablement = find(tenant, application)
    if enablement is None:
        raise NotFound(
            _("%(tenant)s has not enabled %(app)s.", tenant=tenant.name, app=application.name)
        )
    return enablement


def for_tenant(tenant: Tenant) -> list[Enablement]:
    """The municipality's enablements, active first, by app name."""
    rows = db.session.scalars(select(Enablement).where(Enablement.tenant_id == tenant.id))
    return sorted(
        rows, key=lambda e: (e.state != EnablementState.ACTIVE, e.application.name.casefold())
    )


def administered_by(
    user: User | None, application: Application
) -> list[tuple[Tenant, Enablement | None]]:
    """The municipalities `user` administers, each with its enablement of the app, if any."""
    return [(t, find(t, application)) for t in tenants.where_user_is(user, Role.MUNICIPAL_ADMIN)]


def history(enablement: Enablement) -> list[EnablementEvent]:
    return list(
        db.session.scalars(
            select(EnablementEvent)
            .where(EnablementEvent.enablement_id == enablement.id)
            .order_by(EnablementEvent.at, EnablementEvent.id)
        )
    )


def newer_release(enablement: Enablement) -> Release | None:
    """The app's certified release, when it is newer than the pinned one (re-consent)."""
    current = releases.current_certified(enablement.application)
    if current is None or Version(current.version) <= Version(enablement.release.version):
        return None
    return current


def widening(enablement: Enablement, release: Release) -> list[str]:
    """Scopes `release` asks for beyond what the pinned release registered.

    Moving to a release that asks for nothing more cannot widen the grant (it
    stays the approval, narrowed to the new release): one click. Anything
    listed here waits for the admin to approve it.
    """
    before = scopes.parse_scopes(enablement.release.scopes)
    return [
        text
        for text in release.scope_list
        if not any(scopes.covers(have, scopes.parse_scope(text)) for have in before)
    ]


def is_stopped(enablement: Enablement) -> bool:
    """The pinned release may no longer launch (suspended or revoked): shown as stopped."""
    return enablement.release.state not in releases.LAUNCHABLE


def release_to_enable(application: Application) -> Release:
    """The release enabling `application` pins: its certified one (409 when it has none)."""
    release = releases.current_certified(application)
    if release is None:
        raise Conflict(
            _("%(app)s has no certified release: it cannot be enabled.", app=application.name)
        )
    return release


# --- the rules of an approval ---------------------------------------------------


def check_access(release: Release, access: Access, errors: FieldErrors) -> tuple[str, list[str]]:
    """The canonical approved scopes and roles, or field errors: never more than registered."""
    registered = scopes.parse_scopes(release.scopes)
    approved: list[str] = []
    for text in access.scopes:
        try:
            wanted = scopes.parse_scope(text, field="scopes")
        except Invalid as error:
            errors.merge(error)
            continue
        if not any(scopes.covers(have, wanted) for have in registered):
            errors.add(
                "scopes",
                _(
                    "%(scope)s is not among the scopes release %(version)s registered.",
                    scope=text,
                    version=release.version,
                ),
            )
        elif wanted.canonical not in approved:
            approved.append(wanted.canonical)
    if not access.scopes:
        errors.add("scopes", _("Approve at least one scope."))
    roles = sorted(set(access.roles))
    for role in roles:
        errors.check(role in LAUNCH_ROLES, "roles", _("%(role)s cannot launch apps.", role=role))
    if release.application.audience != Audience.BACKEND:
        errors.check(bool(roles), "roles", _("Choose who may launch the app."))
    return " ".join(approved), roles


def _check_version(enablement: Enablement, expected: int | None) -> None:
    if expected is not None and expected != enablement.version_id:
        raise PreconditionFailed(
            _("Someone changed this enablement meanwhile. Reload the page and try again.")
        )


def record(
    enablement: Enablement, kind: EnablementEventKind, by: User | None, **data: object
) -> None:
    """Append an event to the enablement's history, with its state as it is now."""
    db.session.add(
        EnablementEvent(
            enablement_id=enablement.id,
            kind=kind,
            release_id=enablement.release_id,
            scopes=enablement.approved_scopes,
            roles=list(enablement.roles),
            actor_id=by.id if by else None,
            **data,
        )
    )


# --- changes ---------------------------------------------------------------------


def enable(
    tenant: Tenant,
    application: Application,
    access: Access,
    *,
    terms_version: str,
    by: User,
) -> Enablement:
    """Turn the app on for the municipality, pinned to its certified release.

    The admin approves a subset of the release's scopes, chooses who may launch
    it, and accepts the terms in their current version (recorded: who, when,
    which words). Enabling an app that is on is a 409; one that was disabled
    opens again with the new approval.
    """
    require_admin(by, tenant)
    release = release_to_enable(application)
    errors = FieldErrors()
    approved, roles = check_access(release, access, errors)
    errors.check(
        terms_version == terms.VERSION,
        "terms",
        _("Read and accept the terms (version %(version)s) first.", version=terms.VERSION),
    )
    errors.raise_if_any()
    enablement = find(tenant, application)
    if enablement is not None and enablement.state == EnablementState.ACTIVE:
        raise Conflict(
            _("%(tenant)s uses %(app)s already.", tenant=tenant.name, app=application.name)
        )
    if enablement is None:
        enablement = Enablement(
            tenant=tenant,
            application=application,
            release=release,
            state=EnablementState.ACTIVE,
            approved_scopes=approved,
            roles=roles,
            enabled_by_id=by.id,
        )
        # Two admins enabling at once: the unique (tenant, app) row decides, one gets 409.
        add_unique(
            enablement,
            _("%(tenant)s uses %(app)s already.", tenant=tenant.name, app=application.name),
        )
    else:
        enablement.release = release
        enablement.state = EnablementState.ACTIVE
        enablement.approved_scopes = approved
        enablement.roles = roles
        enablement.enabled_by_id = by.id
        enablement.enabled_at = utcnow()
        db.session.flush()  # bump version_id now: a concurrent disable of the old row fails
    db.session.add(
        TermsAcceptance(
            enablement_id=enablement.id,
            terms_version=terms.VERSION,
            terms_sha256=terms.sha256(),
            accepted_by_id=by.id,
        )
    )
    record(enablement, EnablementEventKind.ENABLED, by)
    return enablement


def change_access(
    enablement: Enablement, access: Access, *, by: User, expected_version: int | None = None
) -> Enablement:
    """Narrow or widen (within the pinned release) the approved scopes and roles."""
    require_admin(by, enablement.tenant)
    _check_version(enablement, expected_version)
    _require_active(enablement)
    errors = FieldErrors()
    approved, roles = check_access(enablement.release, access, errors)
    errors.raise_if_any()
    enablement.approved_scopes, enablement.roles = approved, roles
    db.session.flush()  # the version check: a concurrent change fails here, not at commit
    record(enablement, EnablementEventKind.SCOPES_CHANGED, by)
    return enablement


def move_to_release(
    enablement: Enablement,
    release: Release,
    access: Access | None = None,
    *,
    by: User,
    expected_version: int | None = None,
) -> Enablement:
    """Pin the enablement to the app's newer certified release.

    Without `access` the approval stays as it is, narrowed to what the new
    release still registers: one click when the release asks for nothing more.
    A release that asks for more moves only with an `access` that approves it.
    """
    require_admin(by, enablement.tenant)
    _check_version(enablement, expected_version)
    _require_active(enablement)
    if release.application_id != enablement.application_id or release.id != (
        getattr(newer_release(enablement), "id", None)
    ):
        raise Conflict(_("Only the app's newest certified release can be chosen."))
    if access is None:
        if widening(enablement, release):
            raise Conflict(
                _(
                    "Release %(version)s asks for more than you approved: approve its scopes.",
                    version=release.version,
                )
            )
        dropped = dropped_by(enablement, release)
        access = Access(
            scopes=[s for s in enablement.scope_list if s not in dropped],
            roles=list(enablement.roles),
        )
    errors = FieldErrors()
    approved, roles = check_access(release, access, errors)
    errors.raise_if_any()
    enablement.release = release
    enablement.approved_scopes, enablement.roles = approved, roles
    db.session.flush()  # the version check, as above
    record(enablement, EnablementEventKind.RELEASE_CHANGED, by)
    return enablement


def dropped_by(enablement: Enablement, release: Release) -> list[str]:
    """Approved scopes the new release no longer covers: they fall away on moving."""
    registered = scopes.parse_scopes(release.scopes)
    return [
        text
        for text in enablement.scope_list
        if not any(scopes.covers(have, scopes.parse_scope(text)) for have in registered)
    ]


def disable(
    enablement: Enablement,
    *,
    exit_step: str,
    confirmed_by: str,
    note: str = "",
    by: User,
    expected_version: int | None = None,
) -> Enablement:
    """Turn the app off: no new launch from now, and its tokens stop at their next check.

    Records the data processing agreement's exit step: what became of the
    municipality's data, and who at the vendor confirmed it.
    """
    require_admin(by, enablement.tenant)
    _check_version(enablement, expected_version)
    _require_active(enablement)
    errors = FieldErrors()
    step = None
    try:
        step = ExitStep(exit_step)
    except ValueError:
        errors.add("exit_step", _("Say what became of the data: returned, deleted, or none held."))
    confirmed_by = (confirmed_by or "").strip()
    errors.check(
        1 <= len(confirmed_by) <= 200,
        "confirmed_by",
        _("Name who at the vendor confirmed it (at most 200 characters)."),
    )
    note = (note or "").strip()
    errors.check(len(note) <= MAX_NOTE, "note", _("At most %(n)d characters.", n=MAX_NOTE))
    errors.raise_if_any()
    enablement.state = EnablementState.DISABLED
    db.session.flush()  # the version check: a racing approval or disable fails here
    record(
        enablement,
        EnablementEventKind.DISABLED,
        by,
        exit_step=step,
        exit_confirmed_by=confirmed_by,
        note=note,
    )
    return enablement


def _require_active(enablement: Enablement) -> None:
    if enablement.state != EnablementState.ACTIVE:
        raise Conflict(
            _("%(app)s is disabled here: enable it again first.", app=enablement.application.name)
        )


# --- the authorization server's question ---------------------------------------------


@dataclass(frozen=True)
class LaunchDecision:
    """May a client launch for a tenant now; if so, within which scopes and for which roles."""

    allowed: bool
    reason: str
    scopes: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    release: Release | None = None
    enablement: Enablement | None = None


def sandbox_tenant_slug() -> str:
    return current_app.config["TORGET"].sandbox_tenant


# Read on every token: the enablement's and its release's own columns; the app,
# the tenant and the release's app load when a caller reads them (often from the
# identity map). Built once with bound parameters (see catalog.credentials).
_ENABLEMENT_FOR = (
    select(Enablement)
    .join(Enablement.tenant)
    .join(Organisation, Organisation.id == Tenant.organisation_id)
    .where(Enablement.application_id == bindparam("application_id"))
    .where(Organisation.slug == bindparam("slug"))
    .options(
        lazyload(Enablement.application),
        lazyload(Enablement.tenant),
        defaultload(Enablement.release).options(
            lazyload(Release.application), *credentials.LEAN_RELEASE[:2]
        ),
    )
)


def launch_policy(client_id: str, tenant_slug: str) -> LaunchDecision:
    """The one place that says whether `client_id` may launch for `tenant_slug` now.

    Production clients: only where the tenant enabled the app, the enablement
    is active and its pinned release launchable (certified, or superseded while
    the tenant stays on it); the scopes are what the tenant approved. Sandbox
    clients: only on the sandbox tenant, with the scopes of the release under
    test. Called for every authorization, token and introspection, so a
    disable, a suspension or a revocation takes effect at the next call.
    """
    client = credentials.find_by_client_id(client_id)
    if client is None:
        return LaunchDecision(False, _("No such client."))
    if client.environment == Environment.SANDBOX:
        return _sandbox_decision(client, tenant_slug)
    enablement = db.session.scalar(
        _ENABLEMENT_FOR, {"application_id": client.application_id, "slug": tenant_slug}
    )
    if enablement is None:
        return LaunchDecision(False, _("The municipality has not enabled this app."))
    if enablement.state != EnablementState.ACTIVE:
        return LaunchDecision(
            False, _("The municipality has disabled this app."), enablement=enablement
        )
    release = enablement.release
    if release.state not in releases.LAUNCHABLE:
        return LaunchDecision(
            False,
            _(
                "Release %(version)s is %(state)s.",
                version=release.version,
                state=releases.state_label(release.state),
            ),
            release=release,
            enablement=enablement,
        )
    granted = scopes.intersect(
        scopes.parse_scopes(enablement.approved_scopes), scopes.parse_scopes(release.scopes)
    )
    return LaunchDecision(
        True,
        "",
        scopes=[s.canonical for s in granted],
        roles=list(enablement.roles),
        release=release,
        enablement=enablement,
    )


def _sandbox_decision(client: Client, tenant_slug: str) -> LaunchDecision:
    if tenant_slug != sandbox_tenant_slug():
        return LaunchDecision(
            False, _("A sandbox client launches only on the sandbox municipality.")
        )
    # The submitted (or newer certified) release: never a rejected or revoked one.
    release = credentials.current_release(client)
    if release is None:
        return LaunchDecision(False, _("The app has no release to test."))
    return LaunchDecision(
        True,
        "",
        scopes=release.scope_list,
        roles=list(LAUNCH_ROLES),
        release=release,
    )
