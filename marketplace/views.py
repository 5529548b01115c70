"""Marketplace pages: the public catalog (`/`, `/apps/<slug>`) and the municipalities."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, render_template, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from accounts.access import current_user, has_role, requires
from accounts.models import Role
from catalog import labels
from catalog.texts import localized
from marketplace import costs, enablements, listings, schemas, shelf, tenants
from torget import home
from torget.access import public
from torget.db import reads_without_write_lock

bp = Blueprint("marketplace", __name__, template_folder="templates")


# --- the public catalog ----------------------------------------------------------------


@reads_without_write_lock
def catalog() -> ResponseReturnValue:
    """The front page (`home.index`): certified apps, searched, filtered and sorted.

    Every choice is a GET parameter, so a result page is a link to share.
    """
    result = listings.search(schemas.catalog_query(request.args))
    return render_template("marketplace/catalog.html", result=result, localized=localized)


@bp.record_once
def _serve_the_catalog_at_the_front(state: BlueprintSetupState) -> None:
    home.provide_front_page(state.app, catalog)


@bp.get("/apps/<slug>")
@public
@reads_without_write_lock
def listing(slug: str) -> ResponseReturnValue:
    found = listings.get_listing(slug)
    user = current_user()
    return render_template(
        "marketplace/app.html",
        listing=found,
        # For a municipal admin: this year's cost, and what each of their
        # municipalities can do with the app; for a clinician: asking for it.
        cost=costs.cost_for_viewer(found.application, user),
        administered=enablements.administered_by(user, found.application),
        can_ask=bool(user and shelf.clinician_tenants(user)),
        kroner=labels.kroner,
        localized=localized,
    )


# --- municipalities ----------------------------------------------------------------------


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
        # Pages of later packages (the gateway's audit, the journal launcher) add links here.
        admin_links=current_app.extensions.get(ADMIN_LINKS, []) if is_admin else [],
        clinician_links=current_app.extensions.get(CLINICIAN_LINKS, []),
    )


ADMIN_LINKS = "torget_tenant_admin_links"
CLINICIAN_LINKS = "torget_tenant_clinician_links"


def add_admin_link(app: Flask, endpoint: str, label: object) -> None:
    """A link on the municipal admin's start page to `endpoint` (which takes `tenant`)."""
    app.extensions.setdefault(ADMIN_LINKS, []).append((endpoint, label))


def add_clinician_link(app: Flask, endpoint: str, label: object) -> None:
    """A link on the municipality's page for its health personnel (`endpoint` takes `tenant`)."""
    app.extensions.setdefault(CLINICIAN_LINKS, []).append((endpoint, label))
