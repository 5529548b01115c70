"""The API of the clinician's shelf, requests for apps, and joint purchases.

Same rules as the pages: each view parses, calls one service and returns what
it returned; the services check who may do what.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask.views import MethodView

from accounts.access import require_user, requires
from accounts.models import Role
from catalog import applications
from catalog.api import CatalogBlueprint, errors
from marketplace import joint, shelf, tenants
from marketplace.enablements import Access
from marketplace.models import AppRequest, Enablement, JointMember, JointProposal
from marketplace.shelf_schemas import (
    AnswerSchema,
    AppRequestSchema,
    AskSchema,
    JointProposalSchema,
    ProposeSchema,
    ShelfAppSchema,
    TermsSchema,
)

blp = CatalogBlueprint(
    "shelf-api",
    __name__,
    url_prefix="/api/v1",
    description="Health personnel's apps and requests; joint purchases of municipalities.",
)

admin_only = requires(Role.MUNICIPAL_ADMIN, organisation_arg="slug")
clinician_only = requires(Role.CLINICIAN, organisation_arg="slug")


@dataclass(frozen=True)
class _MemberView:
    member: JointMember
    yearly_ore: int | None


@dataclass(frozen=True)
class _ProposalView:
    proposal: JointProposal
    members: list[_MemberView]


def _view(proposal: JointProposal) -> _ProposalView:
    shares = {s.member.id: s.yearly_ore for s in joint.cost_split(proposal)}
    return _ProposalView(proposal, [_MemberView(m, shares.get(m.id)) for m in proposal.members])


@blp.route("/tenants/<slug>/shelf")
class Shelf(MethodView):
    @clinician_only
    @errors(403, 404)
    @blp.response(200, ShelfAppSchema(many=True))
    def get(self, slug: str) -> list[Enablement]:
        """The apps the municipality enabled for its health personnel (clinicians of it only)."""
        return shelf.apps_for(require_user(), tenants.get_by_slug(slug))


@blp.route("/apps/<slug>/requests")
class Ask(MethodView):
    @requires(Role.CLINICIAN)
    @errors(403, 404, 409, 422)
    @blp.arguments(AskSchema)
    @blp.response(201, AppRequestSchema)
    def post(self, data: dict[str, Any], slug: str) -> AppRequest:
        """Ask one's municipality's administrators for a listed app."""
        return shelf.ask_for(
            applications.get_by_slug(slug),
            tenants.get_by_slug(data["tenant"]),
            message=data["message"],
            by=require_user(),
        )


@blp.route("/tenants/<slug>/requests")
class Requests(MethodView):
    @admin_only
    @errors(403, 404)
    @blp.response(200, AppRequestSchema(many=True))
    def get(self, slug: str) -> list[AppRequest]:
        """The requests of the municipality's health personnel, open ones first."""
        return shelf.requests_of(tenants.get_by_slug(slug), by=require_user())


@blp.route("/tenants/<slug>/requests/<int(max=2147483647):request_id>/answer")
class Answer(MethodView):
    @admin_only
    @errors(403, 404, 409, 422)
    @blp.arguments(AnswerSchema)
    @blp.response(200, AppRequestSchema)
    def post(self, data: dict[str, str], slug: str, request_id: int) -> AppRequest:
        """Answer a request; the person who asked reads it on their shelf."""
        return shelf.answer(
            tenants.get_by_slug(slug), request_id, text=data["answer"], by=require_user()
        )


@blp.route("/tenants/<slug>/joint")
class Proposals(MethodView):
    @admin_only
    @errors(403, 404)
    @blp.response(200, JointProposalSchema(many=True))
    def get(self, slug: str) -> list[_ProposalView]:
        """The joint purchases the municipality is a member of, newest first."""
        return [_view(p) for p in joint.for_tenant(tenants.get_by_slug(slug))]

    @admin_only
    @errors(403, 404, 409, 422)
    @blp.arguments(ProposeSchema)
    @blp.response(201, JointProposalSchema)
    def post(self, data: dict[str, Any], slug: str) -> _ProposalView:
        """Propose an app to a group of municipalities; each member's admins decide for it."""
        proposal = joint.propose(
            applications.get_by_slug(data["app"]),
            name=data["name"],
            tenant_slugs=data["tenants"],
            access=Access(scopes=data["scopes"], roles=data["roles"]),
            proposer=tenants.get_by_slug(slug),
            by=require_user(),
        )
        return _view(proposal)


JOINT_ITEM = "/tenants/<slug>/joint/<int(max=2147483647):proposal_id>"


@blp.route(JOINT_ITEM)
class Proposal(MethodView):
    @admin_only
    @errors(403, 404)
    @blp.response(200, JointProposalSchema)
    def get(self, slug: str, proposal_id: int) -> _ProposalView:
        """One proposal, its members' decisions and each member's share of the yearly cost."""
        return _view(joint.get(proposal_id, tenants.get_by_slug(slug)))


@blp.route(JOINT_ITEM + "/approve")
class Approve(MethodView):
    @admin_only
    @errors(403, 404, 409, 422)
    @blp.arguments(TermsSchema)
    @blp.response(200, JointProposalSchema)
    def post(self, data: dict[str, str], slug: str, proposal_id: int) -> _ProposalView:
        """Join for this municipality: the app is enabled here as proposed."""
        tenant = tenants.get_by_slug(slug)
        proposal = joint.get(proposal_id, tenant)
        joint.approve(proposal, tenant, terms_version=data["terms_version"], by=require_user())
        return _view(proposal)


@blp.route(JOINT_ITEM + "/decline")
class Decline(MethodView):
    @admin_only
    @errors(403, 404, 409)
    @blp.response(200, JointProposalSchema)
    def post(self, slug: str, proposal_id: int) -> _ProposalView:
        """Decline for this municipality; the others share the cost."""
        tenant = tenants.get_by_slug(slug)
        proposal = joint.get(proposal_id, tenant)
        joint.decline(proposal, tenant, by=require_user())
        return _view(proposal)
