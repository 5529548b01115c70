"""The app registry: vendors, applications, releases, certification and credentials."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import Organisation, User
from torget.db import UTCDateTime, db, enum_column, utcnow


class Category(StrEnum):
    """How EHR marketplaces group apps (Epic Showroom, Cerner, the SMART gallery)."""

    CLINICAL_DECISION_SUPPORT = "clinical_decision_support"
    DOCUMENTATION = "documentation"
    MEDICATION = "medication"
    CARE_COORDINATION = "care_coordination"
    PATIENT_COMMUNICATION = "patient_communication"
    ADMINISTRATION = "administration"
    ANALYTICS = "analytics"
    WELFARE_TECHNOLOGY = "welfare_technology"


class Audience(StrEnum):
    CLINICIAN = "clinician"
    PATIENT = "patient"
    BACKEND = "backend"


class PriceModel(StrEnum):
    """The price models of Norsk helsenett's evaluation (domain.md)."""

    FIXED = "fixed"  # a yearly price per municipality
    PER_INHABITANT = "per_inhabitant"  # a yearly price per inhabitant
    BASIS_USAGE = "basis_usage"  # a yearly total: a share by population, the rest by use
    PER_USE = "per_use"  # a price per launch or per active user and month
    FREE = "free"  # free or open source


class UsageUnit(StrEnum):
    LAUNCH = "launch"
    ACTIVE_USER_MONTH = "active_user_month"


class ClientType(StrEnum):
    PUBLIC = "public"  # a browser app: PKCE, no secret
    CONFIDENTIAL_SECRET = "confidential_secret"  # noqa: S105 - a name; client_secret_basic
    CONFIDENTIAL_KEY = "confidential_key"  # private_key_jwt
    BACKEND = "backend"  # SMART Backend Services: client_credentials with private_key_jwt

    @property
    def uses_keys(self) -> bool:
        return self in {ClientType.CONFIDENTIAL_KEY, ClientType.BACKEND}


class LaunchMode(StrEnum):
    EHR = "ehr"
    STANDALONE = "standalone"


class ReleaseState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    CERTIFIED = "certified"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"


class Environment(StrEnum):
    SANDBOX = "sandbox"
    PRODUCTION = "production"


class Vendor(db.Model):
    """A company that offers apps. Its name and number are its organisation's."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), unique=True
    )
    contact_email: Mapped[str] = mapped_column(String(254))
    # Where a security researcher or the certification body reports a vulnerability.
    security_email: Mapped[str] = mapped_column(String(254))
    website: Mapped[str] = mapped_column(String(2000))
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined")

    @property
    def slug(self) -> str:
        return self.organisation.slug

    @property
    def name(self) -> str:
        return self.organisation.name

    @property
    def organisation_number(self) -> str:
        return self.organisation.organisation_number

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class VendorInvitation(db.Model):
    """A single-use link that makes its holder a member of the vendor."""

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    # SHA-256 of the link's secret; the link itself is shown once to the inviter.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    vendor: Mapped[Vendor] = relationship(lazy="joined")


class Application(db.Model):
    """An app's stable identity and listing; what it may do lives on its releases."""

    __table_args__ = (
        CheckConstraint("price_ore IS NULL OR price_ore >= 0", name="price_not_negative"),
        CheckConstraint(
            "basis_share_percent IS NULL OR basis_share_percent BETWEEN 0 AND 100",
            name="basis_share_percent_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id", ondelete="RESTRICT"), index=True)
    # Lower case by validation, so uniqueness is case-insensitive everywhere.
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    summary_nb: Mapped[str] = mapped_column(String(300))
    summary_en: Mapped[str] = mapped_column(String(300))
    description_nb: Mapped[str] = mapped_column(Text)
    description_en: Mapped[str] = mapped_column(Text)
    category: Mapped[Category] = mapped_column(enum_column(Category))
    audience: Mapped[Audience] = mapped_column(enum_column(Audience))
    support_url: Mapped[str] = mapped_column(String(2000))
    privacy_url: Mapped[str] = mapped_column(String(2000))
    price_model: Mapped[PriceModel] = mapped_column(enum_column(PriceModel))
    # Whole øre, never floats: 2.50 kr per inhabitant is 250.
    price_ore: Mapped[int | None]
    usage_unit: Mapped[UsageUnit | None] = mapped_column(enum_column(UsageUnit))
    basis_share_percent: Mapped[int | None]
    logo_sha256: Mapped[str | None] = mapped_column(String(64))
    logo_content_type: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Optimistic locking: the API's ETag; a stale If-Match is a 412.
    version_id: Mapped[int] = mapped_column(default=1)

    vendor: Mapped[Vendor] = relationship(lazy="joined")
    screenshots: Mapped[list[Screenshot]] = relationship(
        order_by="Screenshot.position", cascade="all, delete-orphan", lazy="selectin"
    )

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012 - SQLAlchemy's API


class Screenshot(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int]
    height: Mapped[int]
    # The alternative text people using screen readers hear (WCAG 1.1.1).
    caption: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Release(db.Model):
    """One version of an app: everything a launch needs, and its certification state.

    Editable only as a draft; once submitted it never changes (a change is a new
    release). Its state moves only through `catalog.releases`.
    """

    __table_args__ = (UniqueConstraint("application_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="RESTRICT"), index=True
    )
    version: Mapped[str] = mapped_column(String(64))  # Semantic Versioning 2.0.0
    state: Mapped[ReleaseState] = mapped_column(
        enum_column(ReleaseState), default=ReleaseState.DRAFT, index=True
    )
    client_type: Mapped[ClientType] = mapped_column(enum_column(ClientType))
    launch_url: Mapped[str | None] = mapped_column(String(2000))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    jwks_url: Mapped[str | None] = mapped_column(String(2000))
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Space-separated, as OAuth writes scopes (RFC 6749 §3.3).
    scopes: Mapped[str] = mapped_column(Text, default="")
    launch_modes: Mapped[list[str]] = mapped_column(JSON, default=list)
    fhir_version: Mapped[str] = mapped_column(String(8), default="R4")
    release_notes: Mapped[str] = mapped_column(Text, default="")
    data_use_statement: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    certified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    version_id: Mapped[int] = mapped_column(default=1)

    application: Mapped[Application] = relationship(lazy="joined")
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="release", cascade="all, delete-orphan", lazy="selectin"
    )
    checks: Mapped[list[CriterionCheck]] = relationship(
        back_populates="release", cascade="all, delete-orphan", lazy="selectin"
    )

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012 - SQLAlchemy's API

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class Criterion(db.Model):
    """One of the defined minimum requirements a release is certified against."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title_nb: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    guidance_nb: Mapped[str] = mapped_column(Text)
    guidance_en: Mapped[str] = mapped_column(Text)
    # What evidence satisfies it, as the vendor reads it before uploading.
    evidence_nb: Mapped[str] = mapped_column(Text)
    evidence_en: Mapped[str] = mapped_column(Text)
    mandatory: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)
    # Retired criteria stay for the history of releases reviewed against them.
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version_id: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012 - SQLAlchemy's API


class Evidence(db.Model):
    """A document a vendor uploaded to show a release meets a criterion."""

    __table_args__ = (
        CheckConstraint("expires_on IS NULL OR expires_on > issued_on", name="expires_after_issue"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(
        ForeignKey("release.id", ondelete="CASCADE"), index=True
    )
    criterion_id: Mapped[int] = mapped_column(
        ForeignKey("criterion.id", ondelete="RESTRICT"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    issued_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    # The daily expiry check warns once, 30 days ahead.
    expiry_warned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    release: Mapped[Release] = relationship(back_populates="evidence")
    criterion: Mapped[Criterion] = relationship(lazy="joined")


class CriterionCheck(db.Model):
    """A reviewer's finding on one criterion of one release."""

    __table_args__ = (UniqueConstraint("release_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("release.id", ondelete="CASCADE"))
    criterion_id: Mapped[int] = mapped_column(
        ForeignKey("criterion.id", ondelete="RESTRICT"), index=True
    )
    outcome: Mapped[Outcome] = mapped_column(enum_column(Outcome))
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    release: Mapped[Release] = relationship(back_populates="checks")
    criterion: Mapped[Criterion] = relationship(lazy="joined")
    reviewer: Mapped[User | None] = relationship(lazy="joined")


class ReleaseEvent(db.Model):
    """The append-only history of a release: who did what, when and why.

    Rows are never updated or deleted (the mapper events below refuse it); the
    vendor and the reviewer both read this history.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(
        ForeignKey("release.id", ondelete="RESTRICT"), index=True
    )
    # A state change has both states; a notice (an expiry warning) has neither.
    from_state: Mapped[ReleaseState | None] = mapped_column(enum_column(ReleaseState))
    to_state: Mapped[ReleaseState | None] = mapped_column(enum_column(ReleaseState))
    reason: Mapped[str] = mapped_column(Text, default="")
    # None: Torget itself (the daily expiry check, superseding).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship(lazy="joined")


@event.listens_for(ReleaseEvent, "before_update")
@event.listens_for(ReleaseEvent, "before_delete")
def _history_is_append_only(mapper: Any, connection: Any, target: ReleaseEvent) -> None:
    raise RuntimeError("release history is append-only")


class Client(db.Model):
    """An app's OAuth client in one environment. The release decides what it may do."""

    __table_args__ = (UniqueConstraint("application_id", "environment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="RESTRICT"), index=True
    )
    environment: Mapped[Environment] = mapped_column(enum_column(Environment))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    application: Mapped[Application] = relationship(lazy="joined")
    secrets: Mapped[list[ClientSecret]] = relationship(
        back_populates="client", order_by="ClientSecret.created_at.desc()", lazy="selectin"
    )


class ClientSecret(db.Model):
    """A client secret, stored as a hash. Rotation gives the old one a grace period."""

    id: Mapped[int] = mapped_column(primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # the first characters, so a vendor can tell secrets apart
    prefix: Mapped[str] = mapped_column(String(8))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when a newer secret replaces this one: it keeps working until then.
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[Client] = relationship(back_populates="secrets")

    def is_live(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
