"""The JSON API of enablements (/api/v1/tenants/<slug>/enablements/...).

A municipality's administrators enable apps, approve their scopes and roles,
move to newer releases (approving what they add) and disable them, with the
same rules as the pages: every view parses, calls one service, and returns
what it returned; errors are raised and answered as application/problem+json.

An enablement is changed conditionally: GET answers with an ETag (its
version), and PATCH and the move and disable actions need it back in
If-Match, so an approval racing a disable gets a 412 instead of a lost update.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Page

from accounts.access import require_user, requires
from accounts.models import Role
from catalog import applications, releases
from catalog.api import CatalogBlueprint, errors
from marketplace import enablements, tenants
from marketplace.enablement_schemas import (
    AccessSchema,
    DisableSchema,
    EnablementEventSchema,
    EnablementSchema,
    EnableSchema,
    MoveSchema,
    PendingSchema,
)
from marketplace.enablements import Access
from marketplace.models import Enablement, EnablementEvent, EnablementState
from torget.api import ETAG, IfMatchSchema, etag, expected_version

blp = CatalogBlueprint(
    "enablements-api",
    __name__,
    url_prefix="/api/v1",
    description="Enablements: which apps a municipality uses, on which release, with which "
    "scopes and roles (its administrators only).",
)

# The municipality's own administrators only; the services ask again.
admin_only = requires(Role.MUNICIPAL_ADMIN, organisation_arg="slug")

ITEM = "/tenants/<slug>/enablements/<app_slug>"


def _enablement(slug: str, app_slug: str) -> Enablement:
    return enablements.get(tenants.get_by_slug(slug), applications.get_by_slug(app_slug))


@blp.route("/tenants/<slug>/enablements")
class Enablements(MethodView):
    @admin_only
    @errors(403, 404)
    @blp.response(200, EnablementSchema(many=True))
    @blp.paginate(Page)
    def get(self, slug: str) -> list[Enablement]:
        """The municipality's enablements, active first, by app name."""
        return enablements.for_tenant(tenants.get_by_slug(slug))

    @admin_only
    @errors(403, 404, 409)
    @blp.arguments(EnableSchema)
    @blp.response(201, EnablementSchema, headers=ETAG)
    def post(self, data: dict[str, Any], slug: str) -> tuple[Enablement, dict[str, str]]:
        """Enable an app for the municipality, pinned to its certified release.

        Approve a subset of the scopes the release registered (never more: 422),
        choose who may launch it, and accept the terms in their current version.
        An app without a certified release, or one the municipality uses
        already, is a 409; a disabled one opens again with the new approval.
        """
        enablement = enablements.enable(
            tenants.get_by_slug(slug),
            data["application"],
            data["access"],
            terms_version=data["terms_version"],
            by=require_user(),
        )
        return enablement, etag(enablement)


@blp.route(ITEM)
class EnablementItem(MethodView):
    @admin_only
    @errors(403, 404)
    @blp.response(200, EnablementSchema, headers=ETAG)
    def get(self, slug: str, app_slug: str) -> tuple[Enablement, dict[str, str]]:
        """One enablement, with an ETag to change it with."""
        enablement = _enablement(slug, app_slug)
        return enablement, etag(enablement)

    @admin_only
    @errors(403, 404, 409, 412, 428)
    @blp.arguments(AccessSchema(partial=True))
    @blp.arguments(IfMatchSchema, location="headers")
    @blp.response(200, EnablementSchema, headers=ETAG)
    def patch(
        self, data: dict[str, Any], headers: dict[str, Any], slug: str, app_slug: str
    ) -> tuple[Enablement, dict[str, str]]:
        """Change the approved scopes or roles within the pinned release; needs If-Match.

        Fields left out stay as they are. A disabled enablement is a 409: enable it again.
        """
        enablement = _enablement(slug, app_slug)
        enablement = enablements.change_access(
            enablement,
            Access(
                scopes=data.get("scopes", enablement.scope_list),
                roles=data.get("roles", list(enablement.roles)),
            ),
            by=require_user(),
            expected_version=expected_version(headers, enablement.version_id),
        )
        return enablement, etag(enablement)


@blp.route(f"{ITEM}/move")
class EnablementMove(MethodView):
    @admin_only
    @errors(403, 404, 409, 412, 428)
    @blp.arguments(MoveSchema)
    @blp.arguments(IfMatchSchema, location="headers")
    @blp.response(200, EnablementSchema, headers=ETAG)
    def post(
        self, data: dict[str, Any], headers: dict[str, Any], slug: str, app_slug: str
    ) -> tuple[Enablement, dict[str, str]]:
        """Move to the app's newer certified release; needs If-Match.

        Without scopes and roles the approval carries over, narrowed to what
        the new release still asks for: allowed only when the release asks for
        nothing more (see .../pending), else 409. With scopes (and roles) you
        approve exactly those, within the new release. An older release or an
        unknown version is refused (409, 404).
        """
        enablement = _enablement(slug, app_slug)
        access = None
        if "scopes" in data or "roles" in data:
            access = Access(
                scopes=data.get("scopes", enablement.scope_list),
                roles=data.get("roles", list(enablement.roles)),
            )
        enablement = enablements.move_to_release(
            enablement,
            releases.get_for_app(enablement.application, data["version"]),
            access,
            by=require_user(),
            expected_version=expected_version(headers, enablement.version_id),
        )
        return enablement, etag(enablement)


@blp.route(f"{ITEM}/disable")
class EnablementDisable(MethodView):
    @admin_only
    @errors(403, 404, 409, 412, 428)
    @blp.arguments(DisableSchema)
    @blp.arguments(IfMatchSchema, location="headers")
    @blp.response(200, EnablementSchema, headers=ETAG)
    def post(
        self, data: dict[str, Any], headers: dict[str, Any], slug: str, app_slug: str
    ) -> tuple[Enablement, dict[str, str]]:
        """Disable: no new launch from now, and the app's tokens stop; needs If-Match.

        Records the data processing agreement's exit step: what became of the
        data the vendor held, and who at the vendor confirmed it.
        """
        enablement = _enablement(slug, app_slug)
        enablement = enablements.disable(
            enablement,
            exit_step=data["exit_step"].value,
            confirmed_by=data["confirmed_by"],
            note=data["note"],
            by=require_user(),
            expected_version=expected_version(headers, enablement.version_id),
        )
        return enablement, etag(enablement)


@blp.route(f"{ITEM}/history")
class EnablementHistory(MethodView):
    @admin_only
    @errors(403, 404)
    @blp.response(200, EnablementEventSchema(many=True))
    @blp.paginate(Page)
    def get(self, slug: str, app_slug: str) -> list[EnablementEvent]:
        """Who enabled, changed, moved and disabled it, when, and the exit step; oldest first."""
        return enablements.history(_enablement(slug, app_slug))


@blp.route(f"{ITEM}/pending")
class EnablementPending(MethodView):
    @admin_only
    @errors(403, 404)
    @blp.response(200, PendingSchema)
    def get(self, slug: str, app_slug: str) -> dict[str, Any]:
        """A newer certified release waiting for re-consent: what it adds, removes and changes.

        `newer` is null when there is none (or the enablement is disabled).
        """
        enablement = _enablement(slug, app_slug)
        active = enablement.state == EnablementState.ACTIVE
        newer = enablements.newer_release(enablement) if active else None
        widening = enablements.widening(enablement, newer) if newer else []
        return {
            "current": enablement.release.version,
            "newer": newer.version if newer else None,
            "widening": widening,
            "dropped": enablements.dropped_by(enablement, newer) if newer else [],
            "one_click": newer is not None and not widening,
            "diff": releases.diff(enablement.release, newer) if newer else None,
        }
