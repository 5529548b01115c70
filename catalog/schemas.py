"""What the catalog API accepts and returns.

Input schemas check shape and type only; the services check meaning (an
organisation number's check digit, a scope's grammar) and answer with field
errors of their own. Where a service takes an input object, `post_load` builds
it, so a view passes it on as it is.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, post_load
from werkzeug.datastructures import FileStorage

from catalog import criteria, labels
from catalog.applications import Listing
from catalog.criteria import CriterionInput
from catalog.models import (
    Application,
    Audience,
    Category,
    ClientType,
    Criterion,
    Environment,
    LaunchMode,
    Outcome,
    PriceModel,
    ReleaseState,
    UsageUnit,
    Vendor,
)
from catalog.releases import ReleaseInput
from catalog.vendors import VendorProfile
from torget.db import utcnow
from torget.errors import NotFound

# Beyond any text a person writes here; a bound on what a request can make us parse.
MAX_TEXT = 20_000


# --- fields --------------------------------------------------------------------


class Text(fields.String):
    """A string with no control characters but tab and line breaks.

    PostgreSQL cannot store NUL, a lone surrogate cannot be encoded, and the
    other control characters are never meant: each is a 422 on its field.
    """

    def __init__(self, *, max_length: int = MAX_TEXT, **kwargs: Any) -> None:
        self.max_length = max_length
        metadata = {"maxLength": max_length, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > self.max_length:
            raise ValidationError(_("At most %(n)d characters.", n=self.max_length))
        if any(
            (ord(c) < 32 and c not in "\t\n\r") or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF
            for c in text
        ):
            raise ValidationError(_("Remove the control characters."))
        return text


class File(Upload):
    """An uploaded file: a part of a multipart/form-data body with a file name."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> FileStorage:
        if not isinstance(value, FileStorage):
            raise ValidationError(_("Send a file."))
        return value


class CriterionCode(Text):
    """A criterion, named by its code ("WCAG"); an unknown code is a field error."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=32, metadata={"example": "SMART-LAUNCH"}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Criterion:
        code = super()._deserialize(value, attr, data, **kwargs)
        try:
            return criteria.get_by_code(code.strip().upper())
        except NotFound as error:
            raise ValidationError(error.detail or str(error.title)) from None


class Kroner(fields.String):
    """Whole øre as kroner with two decimals: 250 is "2.50"."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else f"{value // 100}.{value % 100:02d}"


class MediaUrl(fields.String):
    """Where a stored image (named by its SHA-256) is served."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else url_for("catalog.media", sha256=value)


class ExplainedScopes(fields.List):
    """Each scope of a release with its meaning in plain words, in the reader's language."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.Nested(ExplainedScopeSchema), dump_only=True, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        explained = [
            {"scope": scope, "meaning": meaning}
            for scope, meaning in labels.explained_scopes(value or "")
        ]
        return super()._serialize(explained, attr, obj, **kwargs)


def _enum(enum: type, **kwargs: Any) -> fields.Enum:
    return fields.Enum(enum, by_value=True, **kwargs)


# --- vendors -------------------------------------------------------------------


class VendorSchema(Schema):
    slug = fields.String(metadata={"example": "nordlys-helse"})
    name = fields.String()
    organisation_number = fields.String(metadata={"example": "987654325"})
    contact_email = fields.String()
    security_email = fields.String()
    website = fields.String()
    verified = fields.Boolean(attribute="is_verified")
    verified_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class VendorProfileSchema(Schema):
    """A vendor's contact details; on PATCH, fields left out stay as they are."""

    contact_email = Text(required=True, max_length=254)
    security_email = Text(
        required=True,
        max_length=254,
        metadata={"description": "Where vulnerabilities in the vendor's apps are reported."},
    )
    website = Text(required=True, max_length=2000)


class VendorSignUpSchema(VendorProfileSchema):
    name = Text(required=True, max_length=200, metadata={"example": "Nordlys Helse AS"})
    organisation_number = Text(
        required=True,
        max_length=20,
        metadata={"description": "Nine digits; the last is a mod-11 check digit."},
    )

    @post_load
    def to_input(self, data: dict[str, str], **kwargs: Any) -> dict[str, Any]:
        """`vendors.sign_up`'s keyword arguments."""
        return {
            "name": data.pop("name"),
            "organisation_number": data.pop("organisation_number"),
            "profile": VendorProfile(**data),
        }


def profile_of(vendor: Vendor) -> VendorProfile:
    """The vendor's profile as input, for a PATCH to change some of it."""
    return VendorProfile(
        contact_email=vendor.contact_email,
        security_email=vendor.security_email,
        website=vendor.website,
    )


class InvitationSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime()


class IssuedInvitationSchema(Schema):
    id = fields.Integer(attribute="invitation.id")
    email = fields.String(attribute="invitation.email")
    created_at = fields.DateTime(attribute="invitation.created_at")
    expires_at = fields.DateTime(attribute="invitation.expires_at")
    token = fields.String(
        metadata={
            "description": "The secret the invited person accepts with. Shown only in this "
            "response: send it to them."
        }
    )


class InvitationCreateSchema(Schema):
    email = Text(required=True, max_length=254)


class InvitationAcceptSchema(Schema):
    token = Text(required=True, max_length=200)


class VendorFilterSchema(Schema):
    verified = fields.Boolean(
        load_default=None,
        allow_none=True,
        metadata={"description": "Only verified (true) or unverified (false) vendors."},
    )


# --- applications ------------------------------------------------------------


class ScreenshotSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    caption = fields.String(metadata={"description": "The alternative text of the image."})
    width = fields.Integer()
    height = fields.Integer()
    content_type = fields.String()
    url = MediaUrl(attribute="sha256")


class ApplicationSchema(Schema):
    slug = fields.String(metadata={"example": "news2-varsel"})
    vendor = fields.String(attribute="vendor.slug")
    name = fields.String()
    summary_nb = fields.String()
    summary_en = fields.String()
    description_nb = fields.String()
    description_en = fields.String()
    category = _enum(Category)
    audience = _enum(Audience)
    support_url = fields.String()
    privacy_url = fields.String()
    price_model = _enum(PriceModel)
    price_nok = Kroner(
        attribute="price_ore", allow_none=True, metadata={"example": "2.50", "type": "string"}
    )
    usage_unit = _enum(UsageUnit, allow_none=True)
    basis_share_percent = fields.Integer(allow_none=True)
    price = fields.Function(
        labels.price,
        metadata={"type": "string", "description": "The price in one line, in your language."},
    )
    logo_url = MediaUrl(attribute="logo_sha256", allow_none=True)
    screenshots = fields.List(fields.Nested(ScreenshotSchema))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ListingSchema(Schema):
    """An app's listing. On PATCH, fields left out stay as they are; null empties a price field."""

    name = Text(required=True, max_length=100)
    summary_nb = Text(required=True, max_length=300)
    summary_en = Text(required=True, max_length=300)
    description_nb = Text(required=True, max_length=10_000)
    description_en = Text(required=True, max_length=10_000)
    category = _enum(Category, required=True)
    audience = _enum(Audience, required=True)
    support_url = Text(required=True, max_length=2000)
    privacy_url = Text(required=True, max_length=2000)
    price_model = _enum(PriceModel, required=True)
    price_nok = fields.Decimal(
        allow_none=True,
        load_default=None,
        metadata={"description": "Kroner, at most two decimals: 2.50. None for a free app."},
    )
    usage_unit = _enum(
        UsageUnit,
        allow_none=True,
        load_default=None,
        metadata={"description": "For per-use and basis-plus-usage prices."},
    )
    basis_share_percent = fields.Integer(
        allow_none=True,
        load_default=None,
        metadata={"description": "For basis-plus-usage: the share split by population."},
    )


class ApplicationCreateSchema(ListingSchema):
    slug = Text(
        required=True,
        max_length=63,
        metadata={"description": "The app's address: lower-case letters, digits and hyphens."},
    )

    @post_load
    def to_input(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """`applications.create`'s keyword arguments."""
        return {"slug": data.pop("slug"), "listing": Listing(**data)}


def listing_of(application: Application) -> Listing:
    """The app's listing as input, for a PATCH to change some of it."""
    price = None if application.price_ore is None else Decimal(application.price_ore) / 100
    return Listing(
        name=application.name,
        summary_nb=application.summary_nb,
        summary_en=application.summary_en,
        description_nb=application.description_nb,
        description_en=application.description_en,
        category=application.category,
        audience=application.audience,
        support_url=application.support_url,
        privacy_url=application.privacy_url,
        price_model=application.price_model,
        price_nok=price,
        usage_unit=application.usage_unit,
        basis_share_percent=application.basis_share_percent,
    )


class LogoUploadSchema(Schema):
    file = File(required=True, metadata={"description": "PNG, JPEG or WebP, at most 1 MB."})


class ScreenshotUploadSchema(Schema):
    file = File(required=True, metadata={"description": "PNG, JPEG or WebP, at most 5 MB."})
    caption = Text(
        required=True,
        max_length=200,
        metadata={"description": "What the screenshot shows, for people who cannot see it."},
    )


# --- releases ------------------------------------------------------------------


class ExplainedScopeSchema(Schema):
    scope = fields.String(metadata={"example": "patient/Observation.rs"})
    meaning = fields.String()


class EvidenceSchema(Schema):
    id = fields.Integer()
    criterion = fields.String(attribute="criterion.code")
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    issued_on = fields.Date()
    expires_on = fields.Date(allow_none=True)
    uploaded_at = fields.DateTime()
    url = fields.Function(
        lambda evidence: url_for(
            "releases-api.EvidenceFile",
            release_id=evidence.release_id,
            evidence_id=evidence.id,
        ),
        metadata={"type": "string", "description": "Where the document is downloaded."},
    )


class CheckSchema(Schema):
    criterion = fields.String(attribute="criterion.code")
    outcome = _enum(Outcome)
    comment = fields.String()
    reviewer = fields.String(attribute="reviewer.display_name", allow_none=True)
    checked_at = fields.DateTime()


class ReleaseSchema(Schema):
    id = fields.Integer()
    application = fields.String(attribute="application.slug")
    version = fields.String(metadata={"example": "1.2.0"})
    state = _enum(ReleaseState)
    client_type = _enum(ClientType)
    launch_url = fields.String(allow_none=True)
    redirect_uris = fields.List(fields.String())
    jwks_url = fields.String(allow_none=True)
    jwks = fields.Dict(allow_none=True, metadata={"description": "An inline JWK Set."})
    scopes = fields.String(metadata={"description": "Space-separated, as OAuth writes scopes."})
    explained_scopes = ExplainedScopes(attribute="scopes")
    # Stored as plain strings (a JSON column), so dumped as strings of the enum.
    launch_modes = fields.List(fields.String(metadata={"enum": [m.value for m in LaunchMode]}))
    fhir_version = fields.String()
    release_notes = fields.String()
    data_use_statement = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    certified_at = fields.DateTime(allow_none=True)
    evidence = fields.List(fields.Nested(EvidenceSchema))
    checks = fields.List(
        fields.Nested(CheckSchema),
        metadata={"description": "The reviewer's findings, per criterion."},
    )


class ReleaseFieldsSchema(Schema):
    """A draft's launch fields. Fields left out stay as they are; null empties one."""

    launch_url = Text(allow_none=True, max_length=2000)
    redirect_uris = fields.List(
        Text(max_length=2000),
        allow_none=True,
        metadata={"description": "Exact strings; https, or http only for localhost."},
    )
    jwks_url = Text(allow_none=True, max_length=2000)
    jwks = fields.Dict(
        allow_none=True,
        metadata={"description": "A JWK Set of public keys, for key-based clients."},
    )
    scopes = Text(
        metadata={
            "description": "SMART v1/v2 scopes, space-separated.",
            "example": "launch openid fhirUser patient/Observation.rs",
        }
    )
    launch_modes = fields.List(_enum(LaunchMode), allow_none=True)
    release_notes = Text()
    data_use_statement = Text(
        metadata={"description": "In plain words: what the app reads and writes, and why."}
    )

    @post_load
    def to_input(self, data: dict[str, Any], **kwargs: Any) -> ReleaseInput:
        cleared = frozenset(name for name, value in data.items() if value is None)
        given = {name: value for name, value in data.items() if value is not None}
        return ReleaseInput(**given, clear=cleared)


class ReleaseCreateSchema(ReleaseFieldsSchema):
    version = Text(
        required=True,
        max_length=64,
        metadata={"description": "A semantic version above the app's latest.", "example": "1.0.0"},
    )
    client_type = _enum(ClientType, required=True)


class ReleaseUpdateSchema(ReleaseFieldsSchema):
    version = Text(max_length=64, metadata={"description": "Fixed once the draft exists."})
    client_type = _enum(ClientType)


class MissingSchema(Schema):
    complete = fields.Boolean()
    missing = fields.List(
        fields.String(), metadata={"description": "What the draft still lacks, in plain words."}
    )


class ScopeDiffSchema(Schema):
    previous = fields.String(
        allow_none=True,
        metadata={"description": "The version compared with: the app's last certified before."},
    )
    added = fields.List(fields.String())
    removed = fields.List(fields.String())
    kept = fields.List(fields.String())
    launch_modes_added = fields.List(fields.String())
    launch_modes_removed = fields.List(fields.String())
    widens = fields.Boolean(metadata={"description": "Whether the release asks for more."})


class EvidenceUploadSchema(Schema):
    file = File(required=True, metadata={"description": "PDF, PNG or JPEG, at most 20 MB."})
    criterion = CriterionCode(required=True)
    issued_on = fields.Date(required=True)
    expires_on = fields.Date(allow_none=True, load_default=None)


class HistoryEventSchema(Schema):
    from_state = _enum(ReleaseState, allow_none=True)
    to_state = _enum(ReleaseState, allow_none=True)
    reason = fields.String()
    actor = fields.String(
        attribute="actor.display_name",
        allow_none=True,
        metadata={"description": "Who decided; left out when Torget itself did."},
    )
    at = fields.DateTime()


# --- credentials ---------------------------------------------------------------


class SecretSchema(Schema):
    id = fields.Integer()
    prefix = fields.String(metadata={"description": "The secret's first characters."})
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    live = fields.Function(
        lambda secret: secret.is_live(utcnow()),
        metadata={"type": "boolean", "description": "Whether the secret works now."},
    )


class ClientSchema(Schema):
    client_id = fields.String()
    environment = _enum(Environment)
    created_at = fields.DateTime()
    secrets = fields.List(fields.Nested(SecretSchema))


class IssuedSecretSchema(Schema):
    id = fields.Integer(attribute="secret.id")
    prefix = fields.String(attribute="secret.prefix")
    created_at = fields.DateTime(attribute="secret.created_at")
    secret = fields.String(
        attribute="value",
        metadata={"description": "The whole secret. Shown only in this response: keep it."},
    )


class RotateSchema(Schema):
    grace_days = fields.Integer(
        load_default=7,
        metadata={"description": "How long the secrets live now keep working (0 to 30 days)."},
    )


# --- review --------------------------------------------------------------------


class ReleaseSummarySchema(Schema):
    id = fields.Integer()
    version = fields.String()
    state = _enum(ReleaseState)
    client_type = _enum(ClientType)
    application = fields.String(attribute="application.slug")
    application_name = fields.String(attribute="application.name")
    vendor = fields.String(attribute="application.vendor.slug")
    vendor_name = fields.String(attribute="application.vendor.name")
    submitted_at = fields.DateTime(allow_none=True)


class QueueItemSchema(Schema):
    release = fields.Nested(ReleaseSummarySchema)
    waiting_seconds = fields.Function(
        lambda item: int(item.waiting.total_seconds()),
        metadata={"type": "integer", "description": "How long since the release was submitted."},
    )


class ReviewSchema(Schema):
    release = fields.Nested(ReleaseSchema)
    blocking = fields.List(
        fields.String(),
        metadata={"description": "Codes of the criteria that stand in the way of certifying."},
    )


class CheckInputSchema(Schema):
    outcome = _enum(Outcome, required=True)
    comment = Text(load_default="", metadata={"description": "Required when it failed."})


class ReasonSchema(Schema):
    reason = Text(required=True, max_length=5000, metadata={"description": "The vendor reads it."})


class CertifySchema(Schema):
    comment = Text(load_default="", max_length=5000)


# --- criteria ------------------------------------------------------------------


class CriterionSchema(Schema):
    code = fields.String(metadata={"example": "WCAG"})
    title_nb = fields.String()
    title_en = fields.String()
    guidance_nb = fields.String()
    guidance_en = fields.String()
    evidence_nb = fields.String(metadata={"description": "What evidence satisfies it."})
    evidence_en = fields.String()
    mandatory = fields.Boolean()
    position = fields.Integer()
    retired_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CriterionFieldsSchema(Schema):
    """A criterion's texts. On PATCH, fields left out stay as they are."""

    title_nb = Text(required=True, max_length=200)
    title_en = Text(required=True, max_length=200)
    guidance_nb = Text(required=True, max_length=10_000)
    guidance_en = Text(required=True, max_length=10_000)
    evidence_nb = Text(required=True, max_length=10_000)
    evidence_en = Text(required=True, max_length=10_000)
    mandatory = fields.Boolean(required=True)
    position = fields.Integer(load_default=0, metadata={"description": "0 to 10 000."})


class CriterionCreateSchema(CriterionFieldsSchema):
    code = Text(
        required=True,
        max_length=32,
        metadata={"description": "Capital letters, digits and hyphens.", "example": "WCAG"},
    )

    @post_load
    def to_input(self, data: dict[str, Any], **kwargs: Any) -> CriterionInput:
        return CriterionInput(**data)


def criterion_input_of(criterion: Criterion) -> CriterionInput:
    """The criterion as input, for a PATCH to change some of it."""
    return CriterionInput(
        code=criterion.code,
        title_nb=criterion.title_nb,
        title_en=criterion.title_en,
        guidance_nb=criterion.guidance_nb,
        guidance_en=criterion.guidance_en,
        evidence_nb=criterion.evidence_nb,
        evidence_en=criterion.evidence_en,
        mandatory=criterion.mandatory,
        position=criterion.position,
    )


class CriteriaFilterSchema(Schema):
    retired = fields.Boolean(
        load_default=False, metadata={"description": "Include retired criteria too."}
    )
