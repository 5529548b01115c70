"""The marketplace JSON API: municipalities (tenants) and the public catalog."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from marketplace import listings, tenants
from marketplace.models import Tenant
from marketplace.schemas import (
    AppListingSchema,
    CatalogPageSchema,
    CatalogQuerySchema,
    TenantSchema,
)
from torget.access import public
from torget.db import reads_without_write_lock

blp = Blueprint("tenants-api", __name__, url_prefix="/api/v1", description="Municipalities")
apps_blp = Blueprint(
    "apps-api",
    __name__,
    url_prefix="/api/v1",
    description="The public catalog: certified apps, searched, filtered and sorted.",
)


@blp.route("/tenants")
class Tenants(MethodView):
    @public
    @blp.response(200, TenantSchema(many=True))
    def get(self) -> list[Tenant]:
        """Every municipality on the platform (public facts only)."""
        return tenants.list_tenants()


@blp.route("/tenants/<slug>")
class TenantItem(MethodView):
    @public
    @blp.response(200, TenantSchema)
    def get(self, slug: str) -> Tenant:
        """One municipality."""
        return tenants.get_by_slug(slug)


# --- the public catalog ------------------------------------------------------------


@apps_blp.route("/apps")
class Apps(MethodView):
    @public
    @apps_blp.arguments(CatalogQuerySchema, location="query")
    @apps_blp.response(200, CatalogPageSchema)
    @reads_without_write_lock
    def get(self, query: listings.CatalogQuery) -> listings.SearchResult:
        """Search the certified apps: one page of them, with each facet's counts.

        The same parameters as the catalog page `/`. Within a facet the values
        are alternatives (`category=medication&category=analytics`); across
        facets they all apply. A facet's counts apply every other facet's
        choice but not its own, so they say what adding a value would give.
        """
        return listings.search(query)


@apps_blp.route("/apps/<slug>")
class AppItem(MethodView):
    @public
    @apps_blp.alt_response(404, response="NOT_FOUND")
    @apps_blp.response(200, AppListingSchema)
    @reads_without_write_lock
    def get(self, slug: str) -> listings.AppListing:
        """One certified app: its listing, the certified release and its certification.

        An app without a certified release (a draft, a suspended or revoked
        one, one only superseded) is not in the catalog: 404.
        """
        return listings.get_listing(slug)
