"""What the usage and cost API accepts and returns; the pages read the year the same way."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from marshmallow import EXCLUDE, Schema, ValidationError, fields
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import MultiDict

from catalog import labels
from catalog.models import PriceModel
from catalog.schemas import Kroner
from marketplace.models import EnablementState
from torget.errors import Invalid


class Year(fields.Integer):
    """A calendar year; anything else is told how to write one, in the reader's language."""

    def make_error(self, key: str, **kwargs: Any) -> ValidationError:
        # marshmallow keeps a lazy message unformatted and unlisted: translate it now.
        if key in {"invalid", "too_large"}:
            return ValidationError(_("Enter a year, like 2026."))
        return super().make_error(key, **kwargs)


class UsageQuerySchema(Schema):
    class Meta:
        # A shared link may carry parameters of its own: ignore them.
        unknown = EXCLUDE

    year = Year(
        load_default=None,
        metadata={
            "description": "The calendar year, from 2020 to this year. Left out: this year, "
            "counted up to today.",
            "example": 2026,
        },
    )


def usage_year(args: MultiDict[str, str]) -> int | None:
    """The page's `?year=`, checked as the API checks it; None when left out."""
    schema = UsageQuerySchema()
    try:
        return schema.load(MultiDictProxy(args, schema))["year"]
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {}
        # The page has no field to show the message beside: the detail says it.
        raise Invalid(
            " ".join(str(m) for m in messages.get("year", [])) or _("Enter a year, like 2026."),
            fields=messages,
        ) from None


class YearMonth(fields.String):
    """The first day of a month as "2026-03"."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else value.strftime("%Y-%m")


class MonthUsageSchema(Schema):
    month = YearMonth(metadata={"example": "2026-03"})
    launches = fields.Integer()
    tokens = fields.Integer(metadata={"description": "Access tokens issued."})
    active_users = fields.Integer(
        metadata={"description": "People who launched the app that month, counted once each."}
    )


class CostSchema(Schema):
    as_of = fields.Date(metadata={"description": "The last day counted."})
    subscribing = fields.Boolean(
        metadata={"description": "Whether the municipality has the app enabled now."}
    )
    units = fields.Integer(
        metadata={
            "description": "The municipality's use so far in the price's unit (launches, or "
            "active users summed per month); 0 when the price counts no use."
        }
    )
    so_far_ore = fields.Integer(metadata={"description": "From 1 January to as_of, in øre."})
    so_far_nok = Kroner(attribute="so_far_ore", dump_only=True, metadata={"example": "1234.50"})
    projected_ore = fields.Integer(
        metadata={"description": "The whole year if use goes on as so far, in øre."}
    )
    projected_nok = Kroner(
        attribute="projected_ore", dump_only=True, metadata={"example": "2469.00"}
    )
    by_month_ore = fields.List(
        fields.Integer(allow_none=True),
        metadata={
            "description": "The cost accrued by the end of each month, in øre; null for "
            "months after as_of."
        },
    )


class AppUsageSchema(Schema):
    slug = fields.String(attribute="application.slug")
    name = fields.String(attribute="application.name")
    price_model = fields.Enum(PriceModel, by_value=True, attribute="application.price_model")
    price = fields.Function(
        lambda row: labels.price(row.application),
        metadata={"type": "string", "description": "The price in one line, in your language."},
    )
    months = fields.List(fields.Nested(MonthUsageSchema))
    cost = fields.Nested(CostSchema, allow_none=True)
    cost_problem = fields.String(
        metadata={"description": "Why the cost is null: the price cannot be worked out."}
    )


class TenantUsageSchema(Schema):
    tenant = fields.String(attribute="tenant.slug")
    year = fields.Integer()
    as_of = fields.Date(metadata={"description": "The last day counted."})
    applications = fields.List(fields.Nested(AppUsageSchema), attribute="apps")


class MunicipalityUsageSchema(Schema):
    slug = fields.String(attribute="tenant.slug")
    name = fields.String(attribute="tenant.name")
    enablement_state = fields.Enum(
        EnablementState,
        by_value=True,
        attribute="state",
        allow_none=True,
        metadata={"description": "null: the municipality never enabled the app."},
    )
    months = fields.List(fields.Nested(MonthUsageSchema))


class ApplicationUsageSchema(Schema):
    application = fields.String(attribute="application.slug")
    year = fields.Integer()
    municipalities = fields.List(fields.Nested(MunicipalityUsageSchema))
    total = fields.List(fields.Nested(MonthUsageSchema))
