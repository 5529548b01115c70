"""The demo municipalities' FHIR data, from the seeded generator (gateway/synthetic.py).

Loaded by `torget demo load` into the embedded store. A municipality that
already holds resources is left as it is, so loading twice changes nothing.
The store's own write path (store.create) validates and indexes one resource
at a time; here the same validation and index run over thousands at once,
written with a few multi-row INSERTs (the demo's 4 000 resources and 30 000
index rows per municipality would otherwise take a minute).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import exists, insert, select, text

from accounts.demo import DEMO_USERS
from auth.demo import ANCHOR
from gateway import search_params, synthetic
from gateway.models import FhirIndex, FhirResource, FhirVersion
from gateway.store import index_rows
from gateway.validation import validate
from marketplace.models import Tenant
from torget.db import db, utcnow

# A dateTime with a time and a zone: the demo's clinical times (dates alone, such as a
# birth date or the day a service began, stay as generated).
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")


def clinicians_of(slug: str) -> list[synthetic.Clinician]:
    """The demo users with an HPR number who work in `slug`, as Practitioners."""
    return [
        synthetic.Clinician(name=user.name, hpr_number=user.hpr_number, email=user.email)
        for user in DEMO_USERS
        if user.hpr_number and user.organisation == slug
    ]


def load(tenants: Iterable[Tenant], *, now: dt.datetime | None = None) -> int:
    """Give each tenant without FHIR data its demo resources; return how many were written.

    The generator dates everything back from a fixed anchor (the same data on
    every machine); the load moves the clinical times forward by whole hours,
    as far as it can without passing `now`, so the newest vital signs are as
    recent as the generator made them before its anchor and NEWS2 has current
    readings to score. A day later they are a day older, as they would be.
    """
    now = now or utcnow()
    # Whole hours, and never past now: no reading may lie in the future.
    shift = dt.timedelta(hours=(now - ANCHOR) // dt.timedelta(hours=1))
    written = 0
    for tenant in tenants:
        has_data = db.session.scalar(select(exists().where(FhirResource.tenant_id == tenant.id)))
        if not has_data:
            written += _load_one(tenant, shift, ANCHOR + shift)
    connection = db.session.connection()
    if written and connection.dialect.name == "postgresql":
        # Without statistics the planner scans the index table for every search
        # (87 ms instead of 4 ms, bench/gateway.py) until autovacuum gets to it.
        connection.execute(text("ANALYZE fhir_resource, fhir_index, fhir_version"))
    return written


def shifted(value: Any, shift: dt.timedelta) -> Any:
    """`value` (FHIR JSON) with every instant moved by `shift`."""
    if isinstance(value, dict):
        return {k: shifted(v, shift) for k, v in value.items()}
    if isinstance(value, list):
        return [shifted(v, shift) for v in value]
    if isinstance(value, str) and _INSTANT.fullmatch(value):
        moved = dt.datetime.fromisoformat(value.replace("Z", "+00:00")) + shift
        return moved.isoformat().replace("+00:00", "Z")
    return value


def _load_one(tenant: Tenant, shift: dt.timedelta, loaded_at: dt.datetime) -> int:
    generated = synthetic.generate(tenant.slug, clinicians=clinicians_of(tenant.slug))
    resources = [shifted(r, shift) for r in generated]
    connection = db.session.connection()
    connection.execute(
        insert(FhirResource),
        [
            {
                "tenant_id": tenant.id,
                "resource_type": r["resourceType"],
                "resource_id": r["id"],
                "version_id": 1,
                "last_updated": loaded_at,
                "patient_id": search_params.compartment_patient(r),
                "content": validate(r["resourceType"], r),
            }
            for r in resources
        ],
    )
    keys = {
        (resource_type, resource_id): pk
        for pk, resource_type, resource_id in connection.execute(
            select(FhirResource.id, FhirResource.resource_type, FhirResource.resource_id).where(
                FhirResource.tenant_id == tenant.id
            )
        )
    }
    connection.execute(
        insert(FhirVersion),
        [
            {
                "resource_pk": keys[(r["resourceType"], r["id"])],
                "version_id": 1,
                "last_updated": loaded_at,
                "method": "POST",
                "content": r,
            }
            for r in resources
        ],
    )
    connection.execute(
        insert(FhirIndex),
        [
            row
            for r in resources
            for row in index_rows(keys[(r["resourceType"], r["id"])], tenant.id, r)
        ],
    )
    return len(resources)
