"""What the API of the shelf, requests and joint purchases accepts and returns."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from marketplace import enablements
from marketplace.models import AppRequestState, JointState


class ShelfAppSchema(Schema):
    app = fields.String(attribute="application.slug")
    name = fields.String(attribute="application.name")
    version = fields.String(attribute="release.version")
    scopes = fields.List(fields.String(), attribute="scope_list")


class AskSchema(Schema):
    tenant = fields.String(
        required=True, metadata={"description": "The municipality (slug) to ask."}
    )
    message = fields.String(load_default="", validate=validate.Length(max=2000))


class AppRequestSchema(Schema):
    id = fields.Integer()
    app = fields.String(attribute="application.slug")
    tenant = fields.String(attribute="tenant.slug")
    requested_by = fields.String(attribute="requested_by.display_name", allow_none=True)
    message = fields.String()
    state = fields.Enum(AppRequestState, by_value=True)
    answer = fields.String()
    created_at = fields.DateTime()
    answered_at = fields.DateTime(allow_none=True)


class AnswerSchema(Schema):
    answer = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ProposeSchema(Schema):
    app = fields.String(required=True, metadata={"description": "The app's slug."})
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    tenants = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "The other municipalities (slugs); the proposer's is added."},
    )
    scopes = fields.List(fields.String(), required=True)
    roles = fields.List(
        fields.String(validate=validate.OneOf(enablements.LAUNCH_ROLES)), load_default=list
    )


class JointMemberSchema(Schema):
    tenant = fields.String(attribute="member.tenant.slug")
    state = fields.Enum(JointState, by_value=True, attribute="member.state")
    yearly_share_ore = fields.Integer(
        attribute="yearly_ore",
        allow_none=True,
        metadata={
            "description": "The member's share of the group's yearly cost; null if declined."
        },
    )


class JointProposalSchema(Schema):
    id = fields.Integer(attribute="proposal.id")
    name = fields.String(attribute="proposal.name")
    app = fields.String(attribute="proposal.application.slug")
    version = fields.String(attribute="proposal.release.version")
    scopes = fields.String(attribute="proposal.scopes")
    roles = fields.List(fields.String(), attribute="proposal.roles")
    members = fields.List(fields.Nested(JointMemberSchema))


class TermsSchema(Schema):
    terms_version = fields.String(
        required=True, metadata={"description": "The version of the terms accepted."}
    )
