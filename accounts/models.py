"""People, the organisations they act for, and how they sign in."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from torget.db import UTCDateTime, db, enum_column, utcnow


class OrganisationKind(StrEnum):
    MUNICIPALITY = "municipality"
    VENDOR = "vendor"


class Role(StrEnum):
    OPERATOR = "operator"
    REVIEWER = "reviewer"
    VENDOR_MEMBER = "vendor_member"
    MUNICIPAL_ADMIN = "municipal_admin"
    CLINICIAN = "clinician"


# Which kind of organisation each role is held in; None: a role of Torget itself.
ROLE_ORGANISATION_KIND: dict[Role, OrganisationKind | None] = {
    Role.OPERATOR: None,
    Role.REVIEWER: None,
    Role.VENDOR_MEMBER: OrganisationKind.VENDOR,
    Role.MUNICIPAL_ADMIN: OrganisationKind.MUNICIPALITY,
    Role.CLINICIAN: OrganisationKind.MUNICIPALITY,
}


class Organisation(db.Model):
    """A legal entity in the Brønnøysund register: a municipality or a vendor."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # organisasjonsnummer: nine digits, the last a mod-11 check digit
    organisation_number: Mapped[str] = mapped_column(String(9), unique=True)
    kind: Mapped[OrganisationKind] = mapped_column(enum_column(OrganisationKind))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so uniqueness is case-insensitive on every database.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    # HPR-nummer (Helsepersonellregisteret), for health personnel
    hpr_number: Mapped[str | None] = mapped_column(String(9))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan"
    )


class Membership(db.Model):
    """A role a user holds, in an organisation or (operator, reviewer) in Torget."""

    __table_args__ = (
        UniqueConstraint("user_id", "role", "organisation_id"),
        CheckConstraint(
            "(role IN ('operator', 'reviewer')) = (organisation_id IS NULL)",
            name="role_organisation",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")


class LoginSession(db.Model):
    """The server side of a signed-in browser. The cookie holds only a random id.

    Signing out, the idle limit and the absolute limit end it here, so a copied
    cookie stops working too.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the cookie's id: a database leak does not yield live sessions.
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class LoginThrottle(db.Model):
    """Failed sign-ins per email address, known or not (no account enumeration)."""

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ApiToken(db.Model):
    """A personal token for the JSON API, shown once and stored as a hash."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # the first characters of the secret part, so a person can tell tokens apart
    prefix: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")

    def is_live(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now
