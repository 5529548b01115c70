"""Tenants: the municipalities that use the platform."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import Organisation
from torget.db import UTCDateTime, db, utcnow


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
