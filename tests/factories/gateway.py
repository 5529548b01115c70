"""Patients and encounters in a municipality's FHIR store, as the picker and the apps find them."""

from __future__ import annotations

import datetime as dt

from gateway import store


def add_patient(
    tenant_id: int,
    fhir_id: str,
    name: str,
    *,
    birth_date: dt.date | None = None,
    identifier: str | None = None,
    gender: str | None = None,
) -> None:
    *given, family = name.split()
    patient: dict[str, object] = {
        "resourceType": "Patient",
        "id": fhir_id,
        "name": [{"family": family, "given": given}] if given else [{"family": family}],
    }
    if birth_date is not None:
        patient["birthDate"] = birth_date.isoformat()
    if identifier is not None:
        patient["identifier"] = [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": identifier}]
    if gender is not None:
        patient["gender"] = gender
    store.create(tenant_id, "Patient", patient, resource_id=fhir_id)


def add_encounter(
    tenant_id: int,
    fhir_id: str,
    patient_fhir_id: str,
    description: str,
    *,
    status: str = "finished",
    start: dt.datetime | None = None,
) -> None:
    encounter: dict[str, object] = {
        "resourceType": "Encounter",
        "id": fhir_id,
        "status": status,
        "class": {"code": "HH"},
        "type": [{"text": description}],
        "subject": {"reference": f"Patient/{patient_fhir_id}"},
    }
    if start is not None:
        encounter["period"] = {"start": start.isoformat().replace("+00:00", "Z")}
    store.create(tenant_id, "Encounter", encounter, resource_id=fhir_id)


def add_vital_sign(
    tenant_id: int, fhir_id: str, patient_fhir_id: str, loinc: str, value: float, when: str
) -> None:
    """A vital-sign Observation (category vital-signs, a LOINC code, a value per minute)."""
    observation = {
        "resourceType": "Observation",
        "id": fhir_id,
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": {"reference": f"Patient/{patient_fhir_id}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "/min"},
    }
    store.create(tenant_id, "Observation", observation, resource_id=fhir_id)
