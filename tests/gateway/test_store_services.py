"""The store's neighbours: the CapabilityStatement, the patient directory and the demo load."""

from __future__ import annotations

import datetime as dt

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from sqlalchemy import func, select

from auth.demo import ANCHOR
from gateway import demo, synthetic
from gateway.directory import StorePatientDirectory
from gateway.metadata import capability_statement
from gateway.models import FhirIndex, FhirResource
from gateway.search_params import SUPPORTED_TYPES, SearchRefused, parse_search
from tests.factories.marketplace import TenantFactory
from torget.db import db


def test_the_capability_statement_is_valid_and_lists_what_the_api_serves(client, fhir):
    response = client.get(f"/fhir/{fhir.organisation.slug}/metadata")
    assert response.status_code == 200
    statement = response.get_json(force=True)
    CapabilityStatement.model_validate(statement)
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(resources) == set(SUPPORTED_TYPES)
    for resource_type, resource in resources.items():
        for param in resource["searchParam"]:
            sample = {"date": "2026", "token": "x", "string": "x", "reference": "x"}
            # Every listed parameter is one the search accepts.
            parse_search(resource_type, [(param["name"], sample[param["type"]])])
    with pytest.raises(SearchRefused):
        parse_search("Observation", [("value-quantity", "5")])
    assert capability_statement("x")["rest"][0]["security"]["service"]


def test_the_directory_finds_patients_by_name_number_and_birth_date(db_session, fhir):
    directory = StorePatientDirectory()
    assert [p.id for p in directory.search(fhir, "kar nord")] == ["kari"]
    assert [p.id for p in directory.search(fhir, "NORD")] == ["kari"]
    assert [p.id for p in directory.search(fhir, "04.03.1950")] == ["kari"]
    assert [p.id for p in directory.search(fhir, "1948-11-30")] == ["ola"]
    assert sorted(p.id for p in directory.search(fhir, "01015012345")) == ["kari", "ola"]
    assert [p.id for p in directory.search(fhir, "")] == ["kari", "ola"]  # by the name shown
    assert directory.search(fhir, "100%_") == []
    found = directory.get(fhir, "kari")
    assert (found.name, found.birth_date) == ("Kari Nordmann", dt.date(1950, 3, 4))
    assert directory.get(fhir, "nobody") is None
    assert directory.get(TenantFactory(), "kari") is None  # never another municipality's


def test_the_directory_lists_a_patients_encounters(db_session, fhir):
    directory = StorePatientDirectory()
    (visit,) = directory.encounters(fhir, "kari")
    assert (visit.id, visit.patient_id, visit.status) == ("kari-visit", "kari", "finished")
    assert visit.start == dt.datetime(2026, 10, 1, 8, tzinfo=dt.UTC)
    assert directory.encounter(fhir, "kari-visit") == visit
    assert directory.encounters(fhir, "ola") == []


def test_the_demo_load_writes_each_municipality_once(db_session):
    tenant = TenantFactory()
    expected = synthetic.generate(tenant.slug, clinicians=demo.clinicians_of(tenant.slug))
    assert demo.load([tenant], now=ANCHOR) == len(expected)  # loaded on the anchor's day
    assert demo.load([tenant]) == 0
    stored = db.session.scalar(
        select(func.count()).select_from(FhirResource).where(FhirResource.tenant_id == tenant.id)
    )
    assert stored == len(expected)
    indexed = db.session.scalar(
        select(func.count()).select_from(FhirIndex).where(FhirIndex.tenant_id == tenant.id)
    )
    assert indexed > stored
    first = expected[0]
    row = db.session.scalar(
        select(FhirResource).where(
            FhirResource.tenant_id == tenant.id, FhirResource.resource_id == first["id"]
        )
    )
    assert row.content == first


def test_the_demo_load_moves_clinical_times_up_to_the_hour_it_runs(db_session):
    tenant = TenantFactory()
    demo.load([tenant], now=ANCHOR + dt.timedelta(days=10, hours=5, minutes=40))
    generated = {
        (r["resourceType"], r["id"]): r
        for r in synthetic.generate(tenant.slug, clinicians=demo.clinicians_of(tenant.slug))
    }
    rows = db.session.scalars(
        select(FhirResource).where(
            FhirResource.tenant_id == tenant.id,
            FhirResource.resource_type.in_(["Observation", "Patient"]),
        )
    )
    moved = 0
    for row in rows:
        before = generated[(row.resource_type, row.resource_id)]
        if row.resource_type == "Patient":
            assert row.content["birthDate"] == before["birthDate"]  # a date stays
            continue
        was = dt.datetime.fromisoformat(before["effectiveDateTime"].replace("Z", "+00:00"))
        now = dt.datetime.fromisoformat(row.content["effectiveDateTime"].replace("Z", "+00:00"))
        assert now - was == dt.timedelta(days=10, hours=5)  # whole hours, up to the load
        moved += 1
    assert moved > 100
