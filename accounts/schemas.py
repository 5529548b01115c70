"""What the accounts API accepts and returns."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from accounts import api_tokens
from accounts.models import OrganisationKind, Role


class OrganisationSchema(Schema):
    slug = fields.String()
    name = fields.String()
    organisation_number = fields.String()
    kind = fields.Enum(OrganisationKind, by_value=True)


class MembershipSchema(Schema):
    role = fields.Enum(Role, by_value=True)
    organisation = fields.Nested(OrganisationSchema, allow_none=True)


class UserSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    display_name = fields.String()
    hpr_number = fields.String(allow_none=True)
    memberships = fields.List(fields.Nested(MembershipSchema))


class ApiTokenSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    prefix = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    expires_at = fields.DateTime(dump_only=True)
    last_used_at = fields.DateTime(dump_only=True, allow_none=True)
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)
    expires_in_days = fields.Integer(
        load_only=True,
        load_default=90,
        validate=validate.Range(min=1, max=api_tokens.MAX_DAYS),
        metadata={"description": "How long the token lives, in days (1 to 365)."},
    )


class IssuedApiTokenSchema(ApiTokenSchema):
    token = fields.String(
        dump_only=True,
        metadata={"description": "The token itself. Shown only in this response: keep it."},
    )
