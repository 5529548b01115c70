"""Municipality pages: the list of tenants and each tenant's own page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from accounts.access import current_user, has_role, requires
from accounts.models import Role
from marketplace import tenants
from torget.access import public

bp = Blueprint("marketplace", __name__, template_folder="templates")


@bp.get("/m/")
@public
def municipalities() -> ResponseReturnValue:
    return render_template("marketplace/municipalities.html", tenants=tenants.list_tenants())


@bp.get("/m/<tenant>/")
@requires(Role.MUNICIPAL_ADMIN, Role.CLINICIAN, organisation_arg="tenant")
def tenant_home(tenant: str) -> ResponseReturnValue:
    found = tenants.get_by_slug(tenant)
    is_admin = has_role(current_user(), [Role.MUNICIPAL_ADMIN], found.slug)
    return render_template(
        "marketplace/tenant.html",
        tenant=found,
        members=tenants.members(found) if is_admin else [],
        is_admin=is_admin,
    )
