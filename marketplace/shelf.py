"""The clinician's side: the apps their municipality enabled for them, and asking for more.

A clinician sees only what their own municipality turned on for their role,
on a release that may launch. Any signed-in clinician may ask their
municipality's admins for an app from the catalog; the admins see the
requests in a queue and answer each.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from accounts.models import Role, User
from catalog import releases
from catalog.models import Application
from marketplace import tenants
from marketplace.enablements import is_stopped, require_admin
from marketplace.models import AppRequest, AppRequestState, Enablement, EnablementState, Tenant
from torget.db import add_unique, db, utcnow
from torget.errors import Conflict, Forbidden, Invalid, NotFound

MAX_MESSAGE = 2000


def clinician_tenants(user: User) -> list[Tenant]:
    """The municipalities where `user` works as a clinician."""
    return tenants.where_user_is(user, Role.CLINICIAN)


def require_clinician(user: User, tenant: Tenant) -> None:
    if tenant not in clinician_tenants(user):
        raise Forbidden(_("Only health personnel of %(tenant)s see its apps.", tenant=tenant.name))


def apps_for(user: User, tenant: Tenant) -> list[Enablement]:
    """The apps `user` may launch in `tenant`: enabled, for the clinician role, not stopped."""
    require_clinician(user, tenant)
    rows = db.session.scalars(
        select(Enablement).where(
            Enablement.tenant_id == tenant.id, Enablement.state == EnablementState.ACTIVE
        )
    )
    usable = [e for e in rows if Role.CLINICIAN.value in e.roles and not is_stopped(e)]
    return sorted(usable, key=lambda e: e.application.name.casefold())


def ask_for(application: Application, tenant: Tenant, *, message: str, by: User) -> AppRequest:
    """Ask the municipality's admins to enable a listed app (once while a request is open)."""
    require_clinician(by, tenant)
    if releases.current_certified(application) is None:
        raise NotFound(_("No app is listed at this address."))
    enabled = db.session.scalar(
        select(Enablement).where(
            Enablement.tenant_id == tenant.id,
            Enablement.application_id == application.id,
            Enablement.state == EnablementState.ACTIVE,
        )
    )
    if enabled is not None:
        raise Conflict(
            _("%(tenant)s uses %(app)s already.", tenant=tenant.name, app=application.name)
        )
    message = (message or "").strip()
    if len(message) > MAX_MESSAGE:
        raise Invalid(_("At most %(n)d characters.", n=MAX_MESSAGE), field="message")
    request = AppRequest(
        tenant=tenant, application=application, requested_by_id=by.id, message=message
    )
    # The partial unique index keeps one open request per person and app.
    add_unique(request, _("You have asked for %(app)s already.", app=application.name))
    return request


def requests_of(tenant: Tenant, *, by: User) -> list[AppRequest]:
    """The municipality's requests for the admins: open ones first, oldest first."""
    require_admin(by, tenant)
    rows = db.session.scalars(select(AppRequest).where(AppRequest.tenant_id == tenant.id))
    return sorted(rows, key=lambda r: (r.state != AppRequestState.OPEN, r.created_at, r.id))


def answer(tenant: Tenant, request_id: int, *, text: str, by: User) -> AppRequest:
    """Close a request with an answer the clinician can read."""
    require_admin(by, tenant)
    request = db.session.get(AppRequest, request_id)
    if request is None or request.tenant_id != tenant.id:
        raise NotFound(_("No such request."))
    if request.state != AppRequestState.OPEN:
        raise Conflict(_("This request has been answered already."))
    text = (text or "").strip()
    if not 1 <= len(text) <= MAX_MESSAGE:
        raise Invalid(
            _("Write an answer of at most %(n)d characters.", n=MAX_MESSAGE), field="answer"
        )
    request.state = AppRequestState.ANSWERED
    request.answer, request.answered_by_id, request.answered_at = text, by.id, utcnow()
    return request


def my_requests(user: User) -> list[AppRequest]:
    """What `user` asked for, newest first, with the answers."""
    rows = db.session.scalars(select(AppRequest).where(AppRequest.requested_by_id == user.id))
    return sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)
