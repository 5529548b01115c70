"""The JSON API of usage and cost (/api/v1/tenants/<slug>/usage, a vendor's app usage).

Each view parses `?year=`, asks `marketplace.costs` once and dumps the answer;
the service refuses anyone but the municipality's admins or the app's vendor's
members. Errors are application/problem+json (torget.errors).
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from accounts.access import login_required, require_user, requires
from accounts.models import Role
from catalog import applications
from marketplace import costs, tenants
from marketplace.usage_schemas import ApplicationUsageSchema, TenantUsageSchema, UsageQuerySchema

blp = Blueprint("usage-api", __name__, url_prefix="/api/v1", description="Usage and cost")


@blp.route("/tenants/<slug>/usage")
class TenantUsage(MethodView):
    @requires(Role.MUNICIPAL_ADMIN, organisation_arg="slug")
    @blp.arguments(UsageQuerySchema, location="query")
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @blp.response(200, TenantUsageSchema)
    def get(self, query: dict[str, Any], slug: str) -> costs.TenantUsage:
        """The municipality's active apps: use per month and cost this year (its admins only).

        Counts are per calendar month (UTC days). The cost follows each app's
        price model: yearly prices accrue day by day from 1 January, use so
        far is extrapolated to the year's end for the projection; amounts are
        whole øre, and in kroner as text. A year that is over is counted to
        31 December.
        """
        return costs.tenant_usage(tenants.get_by_slug(slug), year=query["year"], by=require_user())


@blp.route("/applications/<slug>/usage")
class ApplicationUsage(MethodView):
    @login_required
    @blp.arguments(UsageQuerySchema, location="query")
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @blp.response(200, ApplicationUsageSchema)
    def get(self, query: dict[str, Any], slug: str) -> costs.ApplicationUsage:
        """The app's use per municipality and month, and in total (its vendor's members only).

        Counts only: launches, tokens and active users, never who. Listed are
        the municipalities that enabled the app (active or disabled) and any
        other that used it that year.
        """
        return costs.application_usage(
            applications.get_by_slug(slug), year=query["year"], by=require_user()
        )
