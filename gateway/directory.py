"""The patient directory (auth.patients.PatientDirectory) over the embedded FHIR store.

The standalone picker and the EPJ launcher find patients here: the same
Patient and Encounter resources the apps will read. Search texts are read by
auth's rules (`auth.patients.parse_search`); the index narrows in SQL (a
fødselsnummer, a birth date, or name parts that begin with each word), and
the final name match and the Norwegian order happen in Python, as in auth's
table directory, because neither database orders æ, ø, å as Norwegian does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from auth.patients import (
    EncounterSummary,
    PatientSummary,
    check_limit,
    name_matches,
    parse_search,
)
from gateway import store
from gateway.models import FhirIndex, FhirResource, index_value
from gateway.search_params import normalize
from gateway.upstream import UpstreamBackend
from marketplace.models import Tenant
from marketplace.tenants import norwegian_sort_key
from torget.db import db

FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
# A name search reads at most this many candidates before matching every word.
MAX_CANDIDATES = 500


class StorePatientDirectory:
    """Patients and encounters of one tenant, from its FHIR store."""

    def search(self, tenant: Tenant, text: str, *, limit: int = 20) -> list[PatientSummary]:
        query = parse_search(text, limit)
        statement = select(FhirResource).where(
            FhirResource.tenant_id == tenant.id, FhirResource.resource_type == "Patient"
        )
        if query.identifier is not None:
            statement = statement.where(
                FhirResource.id.in_(
                    _indexed(tenant, "identifier", FhirIndex.value == query.identifier)
                )
            )
        elif query.birth_date is not None:
            day = dt.datetime.combine(query.birth_date, dt.time(), dt.UTC)
            statement = statement.where(
                FhirResource.id.in_(_indexed(tenant, "birthdate", FhirIndex.start == day))
            )
        for word in query.words:
            prefix = (index_value(normalize(word)) or "").replace("\\", "\\\\")
            prefix = prefix.replace("%", "\\%").replace("_", "\\_")
            statement = statement.where(
                FhirResource.id.in_(
                    # Contains, not starts with: "marie" is a part of "anne-marie";
                    # the exact rule (each word begins a part) is name_matches below.
                    _indexed(tenant, "name", FhirIndex.value.like(f"%{prefix}%", escape="\\"))
                )
            )
        rows = db.session.scalars(statement.limit(MAX_CANDIDATES))
        return _best([_patient(row.resource_id, row.content) for row in rows], query.words, limit)

    def get(self, tenant: Tenant, patient_id: str) -> PatientSummary | None:
        row = store.find(tenant.id, "Patient", patient_id)
        return _patient(row.resource_id, row.content) if row is not None else None

    def encounters(
        self, tenant: Tenant, patient_id: str, *, limit: int = 20
    ) -> list[EncounterSummary]:
        check_limit(limit)
        rows = db.session.scalars(
            select(FhirResource).where(
                FhirResource.tenant_id == tenant.id,
                FhirResource.resource_type == "Encounter",
                FhirResource.patient_id == patient_id,
            )
        )
        return _newest([_encounter(row.resource_id, row.content) for row in rows], limit)

    def encounter(self, tenant: Tenant, encounter_id: str) -> EncounterSummary | None:
        row = store.find(tenant.id, "Encounter", encounter_id)
        return _encounter(row.resource_id, row.content) if row is not None else None


def _indexed(tenant: Tenant, param: str, condition: Any) -> Any:
    return select(FhirIndex.resource_pk).where(
        FhirIndex.tenant_id == tenant.id,
        FhirIndex.resource_type == "Patient",
        FhirIndex.param == param,
        condition,
    )


def _name(content: dict[str, Any]) -> str:
    names = content.get("name") or [{}]
    official = next((n for n in names if n.get("use") == "official"), names[0])
    if official.get("text"):
        return official["text"]
    return " ".join([*official.get("given", []), official.get("family", "")]).strip()


def _best(found: list[PatientSummary], words: tuple[str, ...], limit: int) -> list[PatientSummary]:
    """Those whose name every word begins a part of, in Norwegian name order."""
    found = [p for p in found if name_matches(p.name, words)]
    found.sort(key=lambda p: (norwegian_sort_key(p.name), p.id))
    return found[:limit]


def _newest(found: list[EncounterSummary], limit: int) -> list[EncounterSummary]:
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    found.sort(key=lambda e: (-(e.start or oldest).timestamp(), e.id))
    return found[:limit]


def _patient(resource_id: str, content: dict[str, Any]) -> PatientSummary:
    identifier = next(
        (i.get("value") for i in content.get("identifier", []) if i.get("system") == FNR_SYSTEM),
        None,
    )
    birth = content.get("birthDate")
    return PatientSummary(
        id=resource_id,
        name=_name(content),
        birth_date=dt.date.fromisoformat(birth) if birth and len(birth) == 10 else None,
        gender=content.get("gender"),
        identifier=identifier,
    )


def _encounter(resource_id: str, content: dict[str, Any]) -> EncounterSummary:
    start = (content.get("period") or {}).get("start")
    kind = (content.get("type") or [{}])[0]
    subject = (content.get("subject") or {}).get("reference", "")
    return EncounterSummary(
        id=resource_id,
        patient_id=subject.removeprefix("Patient/"),
        description=kind.get("text") or content.get("class", {}).get("display", ""),
        status=content.get("status", "unknown"),
        start=dt.datetime.fromisoformat(start) if start and "T" in start else None,
    )


class UpstreamPatientDirectory:
    """The same directory, asked of the platform's FHIR server (upstream mode)."""

    def __init__(self, backend: UpstreamBackend) -> None:
        self.backend = backend

    def _bundle(self, tenant: Tenant, resource_type: str,
                query: list[tuple[str, str]]) -> list[dict[str, Any]]:  # fmt: skip
        status, bundle, _headers = self.backend.call(tenant, "GET", resource_type, query=query)
        if status != 200 or bundle is None:
            return []
        resources = (entry.get("resource") or {} for entry in bundle.get("entry") or [])
        return [r for r in resources if r.get("resourceType") == resource_type and r.get("id")]

    def search(self, tenant: Tenant, text: str, *, limit: int = 20) -> list[PatientSummary]:
        query = parse_search(text, limit)
        params = [("_count", str(min(MAX_CANDIDATES, 100)))]
        if query.identifier is not None:
            params.append(("identifier", f"{FNR_SYSTEM}|{query.identifier}"))
        elif query.birth_date is not None:
            params.append(("birthdate", query.birth_date.isoformat()))
        params += [("name", word) for word in query.words]
        found = [_patient(r["id"], r) for r in self._bundle(tenant, "Patient", params)]
        return _best(found, query.words, limit)

    def get(self, tenant: Tenant, patient_id: str) -> PatientSummary | None:
        found = self.backend.fetch(tenant, "Patient", patient_id)
        return _patient(patient_id, found) if found else None

    def encounters(
        self, tenant: Tenant, patient_id: str, *, limit: int = 20
    ) -> list[EncounterSummary]:
        check_limit(limit)
        params = [("patient", patient_id), ("_count", "100")]
        found = [_encounter(r["id"], r) for r in self._bundle(tenant, "Encounter", params)]
        return _newest(found, limit)

    def encounter(self, tenant: Tenant, encounter_id: str) -> EncounterSummary | None:
        found = self.backend.fetch(tenant, "Encounter", encounter_id)
        return _encounter(encounter_id, found) if found else None
