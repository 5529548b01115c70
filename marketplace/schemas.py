"""What the marketplace API returns."""

from __future__ import annotations

from marshmallow import Schema, fields


class TenantSchema(Schema):
    slug = fields.String()
    name = fields.String()
    organisation_number = fields.String()
    population = fields.Integer()
