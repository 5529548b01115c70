"""What the marketplace API accepts and returns."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import MultiDict

from catalog import labels
from catalog.fhir_types import RESOURCE_TYPES
from catalog.models import Audience, Category, ClientType, PriceModel, UsageUnit
from catalog.schemas import ExplainedScopes, Kroner, MediaUrl, ScreenshotSchema, Text
from catalog.scopes import WILDCARD
from marketplace import listings
from marketplace.listings import CatalogQuery, Sort
from torget.errors import Invalid


class TenantSchema(Schema):
    slug = fields.String()
    name = fields.String()
    organisation_number = fields.String()
    population = fields.Integer()


# --- the public catalog ------------------------------------------------------------


def _enum(enum: type, **kwargs: Any) -> fields.Enum:
    return fields.Enum(enum, by_value=True, **kwargs)


class Choice(fields.Enum):
    """One of an enumeration's values; a wrong one is told the choices, in their language."""

    def __init__(self, enum: type, **kwargs: Any) -> None:
        super().__init__(enum, by_value=True, **kwargs)

    def make_error(self, key: str, **kwargs: Any) -> ValidationError:
        # marshmallow formats only plain str messages; this one is translated now.
        if key == "unknown":
            return ValidationError(_("Choose one of: %(choices)s.", choices=self.choices_text))
        return super().make_error(key, **kwargs)


class OptionalChoice(Choice):
    """A choice where an empty value means the default: a form's first option sends `sort=`."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if value == "":
            return None
        return super()._deserialize(value, attr, data, **kwargs)


def _choices(enum: type, description: str) -> fields.List:
    """A facet parameter: repeat it for more values (`?category=a&category=b`)."""
    return fields.List(
        Choice(enum),
        load_default=list,
        validate=validate.Length(
            max=listings.MAX_VALUES_PER_FACET, error=_l("At most {max} values.")
        ),
        metadata={"description": description},
    )


class CatalogQuerySchema(Schema):
    """The catalog's search: the same GET parameters for the page `/` and the API."""

    class Meta:
        # Links carry parameters of their own (a campaign tag, a tracker): ignore them.
        unknown = EXCLUDE

    q = Text(
        max_length=listings.MAX_QUERY_LENGTH,
        load_default="",
        metadata={
            "description": "Words to look for in the app's name, its vendor's name and its "
            'summaries and descriptions (both languages). PostgreSQL reads "phrases", '
            "`or` and `-word` as search engines do.",
            "example": "vital signs",
        },
    )
    category = _choices(Category, "Only apps in one of these categories.")
    audience = _choices(Audience, "Only apps for one of these audiences.")
    data = fields.List(
        fields.String(
            validate=validate.OneOf(
                (WILDCARD, *RESOURCE_TYPES),
                error=_l("Not a FHIR R4 resource type (or * for all kinds of data): {input}."),
            )
        ),
        load_default=list,
        validate=validate.Length(
            max=listings.MAX_VALUES_PER_FACET, error=_l("At most {max} values.")
        ),
        metadata={
            "description": "Only apps whose certified release reaches one of these FHIR "
            "resource types; `*` is an app that asks for all kinds of data."
        },
    )
    price_model = _choices(PriceModel, "Only apps with one of these price models.")
    vendor = fields.List(
        Text(max_length=63),
        load_default=list,
        validate=validate.Length(
            max=listings.MAX_VALUES_PER_FACET, error=_l("At most {max} values.")
        ),
        metadata={"description": "Only apps of one of these vendors (by slug)."},
    )
    sort = OptionalChoice(
        Sort,
        load_default=None,
        metadata={
            "description": "relevance (the default when searching), name (the default "
            "otherwise) or newest (most recently certified first); empty is the default."
        },
    )
    page = fields.Integer(
        load_default=1,
        validate=validate.Range(
            min=1, max=listings.MAX_PAGE, error=_l("Pages are numbered {min} to {max}.")
        ),
        error_messages={"invalid": _l("Give a whole number.")},
    )
    page_size = fields.Integer(
        load_default=listings.DEFAULT_PAGE_SIZE,
        validate=validate.Range(
            min=1,
            max=listings.MAX_PAGE_SIZE,
            error=_l("From {min} to {max} apps per page."),
        ),
        error_messages={"invalid": _l("Give a whole number.")},
    )

    @post_load
    def to_query(self, data: dict[str, Any], **kwargs: Any) -> CatalogQuery:
        return CatalogQuery(
            q=data["q"].strip(),
            category=frozenset(data["category"]),
            audience=frozenset(data["audience"]),
            data=frozenset(data["data"]),
            price_model=frozenset(data["price_model"]),
            vendor=frozenset(v.strip().lower() for v in data["vendor"]),
            sort=data["sort"],
            page=data["page"],
            page_size=data["page_size"],
        )


def _messages(messages: Any) -> list[str]:
    if isinstance(messages, dict):
        return [m for value in messages.values() for m in _messages(value)]
    if isinstance(messages, list | tuple):
        return [m for value in messages for m in _messages(value)]
    return [str(messages)]


def catalog_query(args: MultiDict[str, str]) -> CatalogQuery:
    """The catalog page's GET parameters, checked as the API checks them.

    A page shows no field to put a message beside, so the detail names each
    bad parameter and what is wrong with it.
    """
    schema = CatalogQuerySchema()
    try:
        return schema.load(MultiDictProxy(args, schema))
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {}
        problems = "; ".join(f"{name}: {' '.join(_messages(m))}" for name, m in messages.items())
        raise Invalid(
            _("The search cannot be made: %(problems)s", problems=problems),
            fields=messages,
        ) from None


class FacetValueSchema(Schema):
    value = fields.String(metadata={"description": "What to send back to choose it."})
    label = fields.String(metadata={"description": "The value in your language."})
    count = fields.Integer(
        metadata={
            "description": "The apps this choice gives, with the other facets' choices applied."
        }
    )
    selected = fields.Boolean()


def _facet(description: str) -> fields.List:
    return fields.List(fields.Nested(FacetValueSchema), metadata={"description": description})


class FacetsSchema(Schema):
    category = _facet("Categories")
    audience = _facet("Who the app is for")
    data = _facet("The FHIR resource types the certified release reaches (data used)")
    price_model = _facet("Price models")
    vendor = _facet("Vendors")


class CatalogVendorSchema(Schema):
    slug = fields.String(metadata={"example": "nordlys-helse"})
    name = fields.String()
    verified = fields.Boolean(
        attribute="is_verified",
        metadata={"description": "The operator has confirmed who the vendor is."},
    )
    website = fields.String()


class CertifiedReleaseSchema(Schema):
    version = fields.String(metadata={"example": "1.1.0"})
    certified_at = fields.DateTime(allow_none=True)


def _app(name: str, field: fields.Field) -> fields.Field:
    """A field of the listed app itself (`item.application.<name>`)."""
    field.attribute = f"application.{name}"
    return field


class ListedAppSchema(Schema):
    """An app in the catalog's results: enough for a card; the app's own URL has the rest."""

    slug = _app("slug", fields.String(metadata={"example": "news2-varsel"}))
    name = _app("name", fields.String())
    vendor = _app("vendor", fields.Nested(CatalogVendorSchema))
    summary_nb = _app("summary_nb", fields.String())
    summary_en = _app("summary_en", fields.String())
    category = _app("category", _enum(Category))
    audience = _app("audience", _enum(Audience))
    price_model = _app("price_model", _enum(PriceModel))
    price = fields.Function(
        lambda item: labels.price(item.application),
        metadata={"type": "string", "description": "The price in one line, in your language."},
    )
    logo_url = _app("logo_sha256", MediaUrl(allow_none=True))
    release = fields.Nested(
        CertifiedReleaseSchema, metadata={"description": "The certified release listed."}
    )
    data = fields.List(
        fields.String(),
        metadata={"description": "The FHIR resource types the certified release reaches."},
    )


class CatalogPageSchema(Schema):
    items = fields.List(fields.Nested(ListedAppSchema))
    total = fields.Integer(metadata={"description": "Apps matching, on every page."})
    page = fields.Integer()
    page_size = fields.Integer()
    total_pages = fields.Integer()
    sort = _enum(Sort, metadata={"description": "The order the items are in."})
    facets = fields.Nested(FacetsSchema)


class ListingReleaseSchema(CertifiedReleaseSchema):
    client_type = _enum(ClientType)
    launch_modes = fields.List(fields.String())
    fhir_version = fields.String()
    scopes = ExplainedScopes(
        metadata={"description": "What the app may ask for, each with its meaning."}
    )
    data_use_statement = fields.String(
        metadata={"description": "What the app reads and writes, and why, in plain words."}
    )
    release_notes = fields.String()


class CheckedCriterionSchema(Schema):
    code = fields.String(metadata={"example": "WCAG"})
    title = fields.String(metadata={"description": "In your language."})


class CertificationSchema(Schema):
    passed = fields.List(fields.Nested(CheckedCriterionSchema))
    not_applicable = fields.List(fields.Nested(CheckedCriterionSchema))


class AppListingSchema(ListedAppSchema):
    """A listed app's page: the listing, the certified release and its certification summary."""

    description_nb = _app("description_nb", fields.String())
    description_en = _app("description_en", fields.String())
    support_url = _app("support_url", fields.String())
    privacy_url = _app("privacy_url", fields.String())
    price_nok = _app(
        "price_ore",
        Kroner(allow_none=True, metadata={"example": "2.50", "type": "string"}),
    )
    usage_unit = _app("usage_unit", _enum(UsageUnit, allow_none=True))
    basis_share_percent = _app("basis_share_percent", fields.Integer(allow_none=True))
    screenshots = _app("screenshots", fields.List(fields.Nested(ScreenshotSchema)))
    release = fields.Nested(ListingReleaseSchema)
    certification = fields.Nested(
        CertificationSchema,
        metadata={
            "description": "The criteria the certified release passed (or that do not "
            "apply to it). The evidence documents are not public."
        },
    )
