"""The patient directory over the FHIR store: whom the standalone picker and the EPJ launcher
find, and the demo patients it serves."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask

from auth import demo, patients
from auth.patients import EncounterSummary, PatientSummary
from gateway.directory import StorePatientDirectory
from gateway.models import FhirResource
from marketplace import tenants
from marketplace.demo import FKJ_MUNICIPALITIES, SANDBOX
from tests.factories.gateway import add_encounter, add_patient
from tests.factories.marketplace import TenantFactory
from torget.db import db
from torget.errors import Invalid

pytestmark = pytest.mark.usefixtures("english")

KARI = "01034444230"


def _patient(tenant, fhir_id, name, birth_date=None, identifier=None, gender=None) -> None:
    add_patient(
        tenant.id, fhir_id, name, birth_date=birth_date, identifier=identifier, gender=gender
    )
    db.session.flush()


def _encounter(tenant, fhir_id, patient_id, start, description="Legevakt") -> None:
    add_encounter(tenant.id, fhir_id, patient_id, description, start=start)
    db.session.flush()


@pytest.fixture
def home():
    """A municipality with six patients, and a neighbour with a namesake under the same id."""
    tenant = TenantFactory()
    _patient(tenant, "pas-1", "Kari Nordmann", dt.date(1944, 3, 1), KARI, "female")
    _patient(tenant, "pas-2", "Ola Nordmann", dt.date(1950, 7, 14), "14075012345", "male")
    _patient(tenant, "pas-3", "Åse Ødegård", dt.date(1931, 12, 24), "24123111111", "female")
    _patient(tenant, "pas-4", "Anne-Marie Aasen", None, None, None)
    _patient(tenant, "pas-5", "Kari Bakken", dt.date(1944, 3, 1), "01034422222", "female")
    _patient(tenant, "pas-6", "Øyvind Berg", dt.date(1960, 1, 2), "02016033333", "male")
    neighbour = TenantFactory()
    _patient(neighbour, "pas-1", "Kari Nordmann", dt.date(1944, 3, 1), "01034499999", "female")
    _patient(neighbour, "pas-9", "Kari Nabo", dt.date(1944, 3, 1), "01034488888", "female")
    return tenant, neighbour


def _search(tenant, text, **kwargs) -> list[str]:
    return [p.id for p in StorePatientDirectory().search(tenant, text, **kwargs)]


def test_every_word_must_begin_a_part_of_the_name_in_any_case(home) -> None:
    tenant, _neighbour = home
    assert _search(tenant, "kari") == ["pas-5", "pas-1"]  # Bakken before Nordmann
    assert _search(tenant, "KAR NORD") == ["pas-1"]
    assert _search(tenant, "  nordmann   kari ") == ["pas-1"]
    assert _search(tenant, "nordmann") == ["pas-1", "pas-2"]
    # Case folding beyond ASCII, on both databases.
    assert _search(tenant, "øde") == ["pas-3"]
    assert _search(tenant, "ÅSE ØDEGÅRD") == ["pas-3"]
    assert _search(tenant, "marie") == ["pas-4"]  # one part of a hyphenated name
    assert _search(tenant, "anne-marie") == ["pas-4"]
    assert _search(tenant, "ari") == []  # the middle of a part is no match
    assert _search(tenant, "kari berg") == []  # every word must match
    assert _search(tenant, "kari%") == []  # no wildcards
    assert _search(tenant, "_") == []


def test_an_empty_search_lists_by_norwegian_name_order_then_id(home) -> None:
    tenant, _neighbour = home
    _patient(tenant, "pas-b", "Ola Nordmann")
    _patient(tenant, "pas-a", "Ola Nordmann")
    everyone = ["pas-4", "pas-5", "pas-1", "pas-2", "pas-a", "pas-b", "pas-6", "pas-3"]
    # Ø before Å, as in the Norwegian alphabet (code points put Å first).
    assert _search(tenant, "") == everyone
    assert _search(tenant, "   ") == everyone
    assert _search(tenant, "", limit=3) == everyone[:3]
    assert _search(tenant, "nordmann", limit=2) == ["pas-1", "pas-2"]


def test_an_eleven_digit_identifier_finds_exactly_its_patient(home) -> None:
    tenant, neighbour = home
    (found,) = StorePatientDirectory().search(tenant, f" {KARI} ")
    assert found == PatientSummary(
        id="pas-1",
        name="Kari Nordmann",
        birth_date=dt.date(1944, 3, 1),
        gender="female",
        identifier=KARI,
    )
    assert _search(tenant, KARI[:10]) == []  # no prefix search on numbers
    assert _search(tenant, "01034488888") == []  # the neighbour's patient
    assert _search(neighbour, "01034488888") == ["pas-9"]


@pytest.mark.parametrize("text", ["01.03.1944", "1.3.1944", "1944-03-01"])
def test_a_birth_date_in_either_format_finds_everyone_born_that_day(home, text) -> None:
    tenant, neighbour = home
    assert _search(tenant, text) == ["pas-5", "pas-1"]
    assert _search(neighbour, text) == ["pas-9", "pas-1"]
    assert _search(tenant, text, limit=1) == ["pas-5"]


def test_a_date_nobody_was_born_on_finds_nobody(home) -> None:
    tenant, _neighbour = home
    assert _search(tenant, "02.03.1944") == []
    assert _search(tenant, "1944-3-1") == []  # ISO dates have two-digit months and days


@pytest.mark.parametrize("text", ["31.02.1944", "1944-13-01", "00.01.1950"])
def test_a_date_that_does_not_exist_is_invalid(home, text) -> None:
    tenant, _neighbour = home
    with pytest.raises(Invalid) as caught:
        StorePatientDirectory().search(tenant, text)
    assert caught.value.fields == {"text": ["There is no such date."]}


@pytest.mark.parametrize("limit", [0, -1, 51, 1000])
def test_a_limit_outside_one_to_fifty_is_invalid(home, limit) -> None:
    tenant, _neighbour = home
    directory = StorePatientDirectory()
    with pytest.raises(Invalid) as caught:
        directory.search(tenant, "kari", limit=limit)
    assert caught.value.fields == {"limit": ["Ask for between 1 and 50 results."]}
    with pytest.raises(Invalid) as caught:
        directory.encounters(tenant, "pas-1", limit=limit)
    assert caught.value.fields == {"limit": ["Ask for between 1 and 50 results."]}


def test_the_limits_themselves_are_allowed(home) -> None:
    tenant, _neighbour = home
    assert len(_search(tenant, "", limit=1)) == 1
    assert len(_search(tenant, "", limit=50)) == 6
    assert StorePatientDirectory().encounters(tenant, "pas-1", limit=50) == []


def test_a_search_over_a_hundred_characters_is_invalid(home) -> None:
    tenant, _neighbour = home
    assert _search(tenant, "k" * 100) == []
    with pytest.raises(Invalid) as caught:
        StorePatientDirectory().search(tenant, "k" * 101)
    assert caught.value.fields == {"text": ["A search is at most 100 characters."]}


def test_get_reads_only_the_tenants_own_patient(home) -> None:
    tenant, neighbour = home
    directory = StorePatientDirectory()
    mine = directory.get(tenant, "pas-1")
    assert mine is not None
    assert mine.identifier == KARI
    assert mine.masked_identifier == "010344*****"
    theirs = directory.get(neighbour, "pas-1")
    assert theirs is not None
    assert theirs.identifier == "01034499999"
    assert directory.get(tenant, "pas-9") is None
    assert directory.get(tenant, "pas-404") is None
    anne = directory.get(tenant, "pas-4")
    assert anne == PatientSummary("pas-4", "Anne-Marie Aasen", None, None, None)
    assert anne.masked_identifier is None


def test_encounters_are_the_patients_own_newest_first(home) -> None:
    tenant, neighbour = home
    at = dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC)
    _encounter(tenant, "enc-old", "pas-1", at - dt.timedelta(days=30), "Legekonsultasjon")
    _encounter(tenant, "enc-new", "pas-1", at, "Hjemmesykepleie, besøk")
    _encounter(tenant, "enc-undated", "pas-1", None)
    _encounter(tenant, "enc-ola", "pas-2", at)
    _encounter(neighbour, "enc-nabo", "pas-1", at + dt.timedelta(days=1))
    directory = StorePatientDirectory()

    found = directory.encounters(tenant, "pas-1")
    assert [e.id for e in found] == ["enc-new", "enc-old", "enc-undated"]
    assert found[0] == EncounterSummary(
        id="enc-new",
        patient_id="pas-1",
        description="Hjemmesykepleie, besøk",
        status="finished",
        start=at,
    )
    assert [e.id for e in directory.encounters(tenant, "pas-1", limit=1)] == ["enc-new"]
    assert [e.id for e in directory.encounters(neighbour, "pas-1")] == ["enc-nabo"]
    assert directory.encounters(tenant, "pas-9") == []
    assert directory.encounters(tenant, "pas-404") == []


def test_an_encounter_is_found_only_in_its_tenant(home) -> None:
    tenant, neighbour = home
    at = dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC)
    _encounter(tenant, "enc-1", "pas-1", at)
    _encounter(neighbour, "enc-2", "pas-1", at)
    directory = StorePatientDirectory()
    assert directory.encounter(tenant, "enc-1") == EncounterSummary(
        "enc-1", "pas-1", "Legevakt", "finished", at
    )
    assert directory.encounter(tenant, "enc-2") is None
    assert directory.encounter(neighbour, "enc-1") is None
    assert directory.encounter(tenant, "enc-404") is None


def test_the_app_serves_the_directory_it_is_given() -> None:
    app = Flask("probe")
    other = StorePatientDirectory()
    patients.init_app(app, other)
    with app.app_context():
        assert patients.directory() is other


def test_the_app_finds_patients_in_the_fhir_store(app) -> None:
    with app.app_context():
        assert isinstance(patients.directory(), StorePatientDirectory)


# --- demo patients -------------------------------------------------------------------------

DEMO_SLUGS = [slug for slug, _name, _number, _pop in (*FKJ_MUNICIPALITIES, SANDBOX)]


def _valid_fodselsnummer(number: str) -> bool:
    """The published rule: each check digit makes its weighted sum divisible by 11."""
    digits = [int(d) for d in number]
    first = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)
    second = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
    return (
        len(number) == 11
        and sum(d * w for d, w in zip(digits, first, strict=False)) % 11 == 0
        and sum(d * w for d, w in zip(digits, second, strict=True)) % 11 == 0
    )


def test_the_rule_check_rejects_a_changed_digit() -> None:
    # The check below is only worth something if it can fail.
    assert _valid_fodselsnummer(KARI)
    assert not _valid_fodselsnummer("01034444231")
    assert not _valid_fodselsnummer("11034444230")
    assert demo.fodselsnummer(dt.date(1944, 3, 1), 442) == KARI


def test_every_demo_identifier_is_a_well_formed_fodselsnummer() -> None:
    everyone = [p for slug in DEMO_SLUGS for p in demo.patients_for(slug)]
    assert len(everyone) == demo.PATIENTS_PER_TENANT * len(DEMO_SLUGS)
    for patient in everyone:
        number = patient.identifier
        assert _valid_fodselsnummer(number), patient
        assert number[:6] == patient.birth_date.strftime("%d%m%y")
        individual = int(number[6:9])
        assert 1900 <= patient.birth_date.year <= 1999
        assert individual <= 499  # the 1900s' individual numbers
        assert patient.gender == ("female" if individual % 2 == 0 else "male")
    assert len({p.identifier for p in everyone}) == len(everyone)


def test_demo_patients_are_the_same_every_time_and_differ_by_municipality() -> None:
    oslo = demo.patients_for("oslo")
    assert oslo == demo.patients_for("oslo")
    assert [p.name for p in oslo] != [p.name for p in demo.patients_for("bergen")]
    assert [p.id for p in oslo] == [f"pas-oslo-{n:03d}" for n in range(1, 13)]
    encounter_ids = [e.id for p in oslo for e in p.encounters]
    assert len(set(encounter_ids)) == len(encounter_ids)
    for patient in oslo:
        assert 1 <= len(patient.encounters) <= 3
        assert all(e.id.startswith(f"enc-{patient.id[4:]}-") for e in patient.encounters)
        starts = [e.start for e in patient.encounters]
        assert starts == sorted(starts)
        assert all(e.status == "finished" for e in patient.encounters[:-1])


def _patients() -> list[tuple[int, str, str]]:
    rows = db.session.execute(
        sa.select(FhirResource.tenant_id, FhirResource.resource_id, FhirResource.version_id)
        .where(FhirResource.resource_type == "Patient")
        .order_by(FhirResource.tenant_id, FhirResource.resource_id)
    )
    return [tuple(row) for row in rows]


def test_demo_load_gives_every_municipality_and_the_sandbox_patients_once(runner) -> None:
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert [t.slug for t in demo.demo_tenants()] == DEMO_SLUGS
    before = _patients()
    assert len(before) >= 50 * len(DEMO_SLUGS)
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0, second.output
    assert _patients() == before

    # The picker finds them through the directory, in the right municipality only.
    sandbox = tenants.get_by_slug("sandkasse")
    oslo = tenants.get_by_slug("oslo")
    wanted = demo.patients_for("sandkasse")[0]
    directory = StorePatientDirectory()
    assert wanted.id in [p.id for p in directory.search(sandbox, wanted.name)]
    assert [p.id for p in directory.search(sandbox, wanted.identifier)] == [wanted.id]
    assert _valid_fodselsnummer(directory.get(sandbox, wanted.id).identifier)
    assert directory.search(oslo, wanted.identifier) == []
    assert [e.id for e in directory.encounters(sandbox, wanted.id)] == [
        e.id for e in reversed(wanted.encounters)
    ]
