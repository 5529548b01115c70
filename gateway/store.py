"""The embedded FHIR store: create, update, read, vread and history, per municipality.

Every write validates the body (gateway/validation.py), keeps the version it
makes in `FhirVersion`, and rewrites the resource's search index, in the
request's one transaction. Versions count from 1; an update names the
version it replaces (`If-Match`) or takes the newest, and of two updates
racing on one version only one is saved (the row's version counter: the
loser's flush finds no row to update, which the shell answers with 412).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, insert, select

from gateway import search_params
from gateway.models import FhirIndex, FhirResource, FhirVersion, index_value
from gateway.validation import InvalidResource, is_fhir_id, validate
from torget.db import db, utcnow
from torget.errors import NotFound, PreconditionFailed


@dataclass(frozen=True)
class Written:
    resource: FhirResource
    created: bool


def _version(row: FhirResource | FhirVersion, resource_type: str, resource_id: str) -> dict:
    """The resource as served: its id and `meta.versionId` / `meta.lastUpdated` are the store's."""
    content = dict(row.content)
    meta = dict(content.get("meta") or {})
    meta["versionId"] = str(row.version_id)
    meta["lastUpdated"] = row.last_updated.isoformat().replace("+00:00", "Z")
    return {**content, "resourceType": resource_type, "id": resource_id, "meta": meta}


def as_served(row: FhirResource) -> dict[str, Any]:
    return _version(row, row.resource_type, row.resource_id)


def version_as_served(version: FhirVersion, resource: FhirResource) -> dict[str, Any]:
    return _version(version, resource.resource_type, resource.resource_id)


def not_found(resource_type: str, resource_id: str) -> NotFound:
    return NotFound(
        _("There is no %(type)s with the id %(id)s.", type=resource_type, id=resource_id[:64])
    )


def find(tenant_id: int, resource_type: str, resource_id: str) -> FhirResource | None:
    if not is_fhir_id(resource_id):
        return None
    return db.session.scalar(
        select(FhirResource).where(
            FhirResource.tenant_id == tenant_id,
            FhirResource.resource_type == resource_type,
            FhirResource.resource_id == resource_id,
        )
    )


def history(resource: FhirResource) -> list[FhirVersion]:
    """Every version of `resource`, newest first."""
    return list(
        db.session.scalars(
            select(FhirVersion)
            .where(FhirVersion.resource_pk == resource.id)
            .order_by(FhirVersion.version_id.desc())
        )
    )


def vread(resource: FhirResource, version_id: str) -> FhirVersion:
    version = None
    if version_id.isdigit() and len(version_id) < 10:
        version = db.session.scalar(
            select(FhirVersion).where(
                FhirVersion.resource_pk == resource.id, FhirVersion.version_id == int(version_id)
            )
        )
    if version is None:
        raise NotFound(
            _("%(type)s/%(id)s has no version %(version)s.",
              type=resource.resource_type, id=resource.resource_id, version=version_id[:20])
        )  # fmt: skip
    return version


def create(
    tenant_id: int, resource_type: str, body: Any, *, resource_id: str | None = None,
    now: dt.datetime | None = None,
) -> FhirResource:  # fmt: skip
    """A new resource; its id is the store's (FHIR create ignores the body's), unless given.

    `resource_id`: for the demo loader, which keeps its ids stable.
    """
    content = validate(resource_type, body)
    if resource_id is not None and not is_fhir_id(resource_id):
        raise InvalidResource([(f"{resource_type}.id", "Not a FHIR id.")])
    now = now or utcnow()
    resource = FhirResource(
        tenant_id=tenant_id,
        resource_type=resource_type,
        resource_id=resource_id or uuid.uuid4().hex,
        version_id=1,
        last_updated=now,
        patient_id=search_params.compartment_patient(content),
        content=_stored(content),
    )
    db.session.add(resource)
    db.session.flush()
    _record(resource, "POST")
    return resource


def update(
    tenant_id: int, resource_type: str, resource_id: str, body: Any, *,
    if_match: int | None = None, now: dt.datetime | None = None,
) -> Written:  # fmt: skip
    """A new version of the resource (update as create when there is none, FHIR allows it).

    `if_match`: the version the client read; another one is a 412.
    """
    content = validate(resource_type, body)
    if content.get("id") != resource_id:
        raise InvalidResource(
            [(f"{resource_type}.id", f"The body's id must be the URL's, {resource_id}.")]
        )
    existing = find(tenant_id, resource_type, resource_id)
    if existing is None:
        if if_match is not None:
            raise PreconditionFailed(
                _("There is no %(type)s/%(id)s to match.", type=resource_type, id=resource_id)
            )
        return Written(
            create(tenant_id, resource_type, content, resource_id=resource_id, now=now), True
        )
    if if_match is not None and if_match != existing.version_id:
        raise PreconditionFailed(
            _("%(type)s/%(id)s is at version %(current)d, not %(asked)d.",
              type=resource_type, id=resource_id, current=existing.version_id, asked=if_match)
        )  # fmt: skip
    existing.content = _stored(content)
    existing.patient_id = search_params.compartment_patient(content)
    existing.last_updated = now or utcnow()
    existing.version_id += 1
    db.session.flush()
    _record(existing, "PUT")
    return Written(existing, False)


def _stored(content: dict[str, Any]) -> dict[str, Any]:
    # meta.versionId and meta.lastUpdated are the store's to say: not kept from the body.
    stored = {k: v for k, v in content.items() if k != "meta"}
    meta = {
        k: v
        for k, v in (content.get("meta") or {}).items()
        if k not in {"versionId", "lastUpdated"}
    }
    if meta:
        stored["meta"] = meta
    return stored


def _record(resource: FhirResource, method: str) -> None:
    """Keep this version, and make the index say what it says."""
    db.session.add(
        FhirVersion(
            resource_pk=resource.id,
            version_id=resource.version_id,
            last_updated=resource.last_updated,
            method=method,
            content=resource.content,
        )
    )
    connection = db.session.connection()
    connection.execute(delete(FhirIndex).where(FhirIndex.resource_pk == resource.id))
    rows = index_rows(
        resource.id, resource.tenant_id, {**resource.content, "id": resource.resource_id}
    )
    if rows:
        connection.execute(insert(FhirIndex), rows)


def index_rows(resource_pk: int, tenant_id: int, content: dict[str, Any]) -> list[dict[str, Any]]:
    """The index rows of one resource, as a multi-row INSERT takes them."""
    try:
        entries = search_params.index_entries(content)
    except ValueError as error:
        # A value fhir.resources lets through but the index cannot read (a leap second).
        raise InvalidResource([(content["resourceType"], str(error)[:300])]) from None
    return [
        {
            "resource_pk": resource_pk,
            "tenant_id": tenant_id,
            "resource_type": content["resourceType"],
            "param": entry.param,
            "system": index_value(entry.system),
            "value": index_value(entry.value),
            "start": entry.start,
            "end": entry.end,
        }
        for entry in entries
    ]
