"""The embedded FHIR store: each municipality's resources, their versions and a search index.

One row per resource holds its current version (what read and search see);
every version, the current one included, is kept in `FhirVersion` for vread
and history. The index holds what each current resource says for each
supported search parameter (gateway/search_params.py decides what that is),
rewritten with every version.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from torget.db import UTCDateTime, db, utcnow

# Index values longer than this are cut; a search value is cut the same way.
INDEX_VALUE_LENGTH = 255
MAX_AUDITED_IDS = 1000


def index_value(value: str | None) -> str | None:
    """`value` as the index keeps it (and a search compares it): cut to the column's length."""
    return value[:INDEX_VALUE_LENGTH] if value is not None else None


class FhirResource(db.Model):
    """The current version of one resource of one municipality."""

    __tablename__ = "fhir_resource"
    __table_args__ = (UniqueConstraint("tenant_id", "resource_type", "resource_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(default=1)
    last_updated: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The Patient whose compartment the resource is in: a patient-scoped token
    # sees only rows with its patient here.
    patient_id: Mapped[str | None] = mapped_column(String(64), index=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)


class FhirVersion(db.Model):
    """One version of a resource, as it was written (vread, history)."""

    __tablename__ = "fhir_version"
    __table_args__ = (UniqueConstraint("resource_pk", "version_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_pk: Mapped[int] = mapped_column(ForeignKey("fhir_resource.id", ondelete="CASCADE"))
    version_id: Mapped[int]
    last_updated: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    method: Mapped[str] = mapped_column(String(8))  # POST (create) or PUT (update)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)


class FhirIndex(db.Model):
    """One value a current resource has for one search parameter."""

    __tablename__ = "fhir_index"
    __table_args__ = (
        Index("ix_fhir_index_lookup", "tenant_id", "resource_type", "param", "value"),
        Index("ix_fhir_index_dates", "tenant_id", "resource_type", "param", "start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_pk: Mapped[int] = mapped_column(
        ForeignKey("fhir_resource.id", ondelete="CASCADE"), index=True
    )
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    resource_type: Mapped[str] = mapped_column(String(64))
    param: Mapped[str] = mapped_column(String(64))
    # Tokens: the system (None: none given); references: the target type.
    system: Mapped[str | None] = mapped_column(String(INDEX_VALUE_LENGTH))
    value: Mapped[str | None] = mapped_column(String(INDEX_VALUE_LENGTH))
    start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AccessEvent(db.Model):
    """One access through the gateway, allowed or denied: who, what, for which patient.

    AuditEvent-shaped (the operator reads them as FHIR AuditEvent). Written
    in the transaction of the access itself: a write and its event commit
    together, and a read whose event cannot be written returns no data.
    """

    __tablename__ = "fhir_access_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    client_id: Mapped[str | None] = mapped_column(String(64), index=True)
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("application.id", ondelete="SET NULL"), index=True
    )
    grant_id: Mapped[int | None]  # auth's TokenGrant; no foreign key: events outlive grants
    fhir_user: Mapped[str | None] = mapped_column(String(255))
    patient_id: Mapped[str | None] = mapped_column(String(64), index=True)
    interaction: Mapped[str] = mapped_column(String(16))  # read, vread, history, search, create…
    resource_type: Mapped[str | None] = mapped_column(String(64))
    # The ids returned or written (`Type/id`), at most MAX_AUDITED_IDS of them.
    resource_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    query: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(16))  # allowed, denied, invalid
    status: Mapped[int]
    detail: Mapped[str] = mapped_column(String(500), default="")
    scopes: Mapped[str] = mapped_column(Text, default="")  # the granted scopes that allowed it
    ip: Mapped[str | None] = mapped_column(String(64))
