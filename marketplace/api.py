"""The marketplace JSON API: municipalities (tenants)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from marketplace import tenants
from marketplace.models import Tenant
from marketplace.schemas import TenantSchema
from torget.access import public

blp = Blueprint("tenants-api", __name__, url_prefix="/api/v1", description="Municipalities")


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
