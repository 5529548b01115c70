"""Tenants (municipalities), their enablements of apps, and the usage counts."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import Organisation, User
from catalog.models import Application, Release
from torget.db import UTCDateTime, db, enum_column, utcnow


class Tenant(db.Model):
    """A municipality on the platform. Its slug, name and number are its organisation's."""

    __table_args__ = (CheckConstraint("population >= 0", name="population_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), unique=True
    )
    # Inhabitants, for per-inhabitant prices and cost splits by population.
    population: Mapped[int]
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


class EnablementState(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class ExitStep(StrEnum):
    """What became of the municipality's data when an app was disabled (the DPA's exit)."""

    DATA_RETURNED = "data_returned"
    DATA_DELETED = "data_deleted"
    NO_DATA_HELD = "no_data_held"  # the app kept nothing outside the platform


class Enablement(db.Model):
    """A municipality's choice to use an app: which release, which scopes, which roles.

    Pinned to one certified release; a newer release changes nothing until the
    municipality's admin moves to it (and approves any scope it adds). One row
    per municipality and app: disabling keeps the row, enabling again reopens it.
    """

    __table_args__ = (UniqueConstraint("tenant_id", "application_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="RESTRICT"))
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="RESTRICT"), index=True
    )
    release_id: Mapped[int] = mapped_column(ForeignKey("release.id", ondelete="RESTRICT"))
    state: Mapped[EnablementState] = mapped_column(enum_column(EnablementState))
    # Space-separated canonical scopes, each covered by one the release registered.
    approved_scopes: Mapped[str] = mapped_column(Text)
    # Role values (accounts.models.Role) whose holders may launch it.
    roles: Mapped[list[str]] = mapped_column(JSON)
    enabled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    enabled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Optimistic locking: an approval and a disable racing each other, one gets 412.
    version_id: Mapped[int] = mapped_column(default=1)

    tenant: Mapped[Tenant] = relationship(lazy="joined")
    application: Mapped[Application] = relationship(lazy="joined")
    release: Mapped[Release] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012 - SQLAlchemy's API

    @property
    def scope_list(self) -> list[str]:
        return self.approved_scopes.split()


class EnablementEventKind(StrEnum):
    ENABLED = "enabled"
    RELEASE_CHANGED = "release_changed"
    SCOPES_CHANGED = "scopes_changed"
    ROLES_CHANGED = "roles_changed"
    DISABLED = "disabled"


class EnablementEvent(db.Model):
    """The append-only history of an enablement: who changed what, when, and the exit step."""

    id: Mapped[int] = mapped_column(primary_key=True)
    enablement_id: Mapped[int] = mapped_column(
        ForeignKey("enablement.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[EnablementEventKind] = mapped_column(enum_column(EnablementEventKind))
    release_id: Mapped[int | None] = mapped_column(ForeignKey("release.id", ondelete="RESTRICT"))
    scopes: Mapped[str] = mapped_column(Text, default="")
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    exit_step: Mapped[ExitStep | None] = mapped_column(enum_column(ExitStep))
    # Who at the vendor confirmed the data was returned or deleted, as the admin recorded it.
    exit_confirmed_by: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship(lazy="joined")
    release: Mapped[Release | None] = relationship(lazy="joined")


@event.listens_for(EnablementEvent, "before_update")
@event.listens_for(EnablementEvent, "before_delete")
def _history_is_append_only(mapper: Any, connection: Any, target: EnablementEvent) -> None:
    raise RuntimeError("enablement history is append-only")


class TermsAcceptance(db.Model):
    """An admin accepted the terms and the data processing agreement, in this exact version."""

    id: Mapped[int] = mapped_column(primary_key=True)
    enablement_id: Mapped[int] = mapped_column(
        ForeignKey("enablement.id", ondelete="RESTRICT"), index=True
    )
    terms_version: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the text shown, so the version's wording can be proven later.
    terms_sha256: Mapped[str] = mapped_column(String(64))
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    accepted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class UsageDay(db.Model):
    """Launches and tokens of one app in one municipality on one day (UTC)."""

    __table_args__ = (
        UniqueConstraint("tenant_id", "application_id", "day"),
        CheckConstraint("launches >= 0 AND tokens >= 0", name="counts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="RESTRICT"))
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="RESTRICT"), index=True
    )
    day: Mapped[dt.date] = mapped_column(Date)
    launches: Mapped[int] = mapped_column(default=0)
    tokens: Mapped[int] = mapped_column(default=0)


class ActiveUser(db.Model):
    """One person used one app in one municipality in one month (for active-user counts).

    The person is kept as a keyed hash, never their id: usage counts carry no identity.
    """

    __table_args__ = (UniqueConstraint("tenant_id", "application_id", "month", "user_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="RESTRICT"))
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="RESTRICT"), index=True
    )
    month: Mapped[dt.date] = mapped_column(Date)  # the first day of the month
    user_hash: Mapped[str] = mapped_column(String(64))


class AppRequestState(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


class AppRequest(db.Model):
    """A clinician asks their municipality's admins for an app from the catalog."""

    __table_args__ = (
        # One open request per person and app: a double click or two tabs make one.
        Index(
            "uq_app_request_open",
            "tenant_id",
            "application_id",
            "requested_by_id",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="RESTRICT"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="RESTRICT"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # Why the clinician needs it: what the admins weigh (tjenstlig behov).
    message: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[AppRequestState] = mapped_column(
        enum_column(AppRequestState), default=AppRequestState.OPEN
    )
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    tenant: Mapped[Tenant] = relationship(lazy="joined")
    application: Mapped[Application] = relationship(lazy="joined")
    requested_by: Mapped[User | None] = relationship(lazy="joined", foreign_keys=[requested_by_id])
    answered_by: Mapped[User | None] = relationship(lazy="joined", foreign_keys=[answered_by_id])


class JointState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class JointProposal(db.Model):
    """Several municipalities buying an app together (interkommunalt samarbeid).

    One admin proposes the app, its release, scopes and roles for a group;
    each member's own admin approves for their municipality (which enables it
    there) or declines. The group's cost split follows the app's price model.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="RESTRICT"), index=True
    )
    release_id: Mapped[int] = mapped_column(ForeignKey("release.id", ondelete="RESTRICT"))
    scopes: Mapped[str] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(JSON)
    # What the group calls itself, e.g. "Helsesamarbeid i Vest-Telemark".
    name: Mapped[str] = mapped_column(String(200))
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    application: Mapped[Application] = relationship(lazy="joined")
    release: Mapped[Release] = relationship(lazy="joined")
    members: Mapped[list[JointMember]] = relationship(
        back_populates="proposal", lazy="selectin", order_by="JointMember.id"
    )


class JointMember(db.Model):
    """One municipality of a joint proposal, and its own admin's decision."""

    __table_args__ = (UniqueConstraint("proposal_id", "tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("joint_proposal.id", ondelete="CASCADE"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="RESTRICT"), index=True)
    state: Mapped[JointState] = mapped_column(enum_column(JointState), default=JointState.PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    proposal: Mapped[JointProposal] = relationship(back_populates="members")
    tenant: Mapped[Tenant] = relationship(lazy="joined")
