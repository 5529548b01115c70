"""The synthetic FHIR data of the demo municipalities: deterministic, valid, shaped for the apps."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from auth.demo import ANCHOR, fodselsnummer, patients_for
from gateway.synthetic import (
    HPR_SYSTEM,
    SERVICE_KINDS,
    TRAJECTORIES,
    Clinician,
    generate,
    services_of,
    trajectory_of,
)
from marketplace.demo import FKJ_MUNICIPALITIES

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
STALE = ANCHOR - dt.timedelta(days=7)


@pytest.fixture(scope="module")
def oslo() -> list[dict[str, Any]]:
    return generate("oslo")


def of_type(resources: list[dict[str, Any]], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["resourceType"] == resource_type]


def references(value: Any) -> list[str]:
    """Every Reference.reference anywhere in a resource."""
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [ref for v in value.values() for ref in references(v)]
    if isinstance(value, list):
        return [ref for v in value for ref in references(v)]
    return []


def rounds_of(resources: list[dict[str, Any]], patient_id: str) -> list[dict[str, Any]]:
    """A patient's vital-sign rounds, oldest first: {"at", "rr", "spo2", ...} per round."""
    by_time: dict[str, dict[str, Any]] = defaultdict(dict)
    for obs in of_type(resources, "Observation"):
        if obs["subject"]["reference"] != f"Patient/{patient_id}":
            continue
        measured = by_time[obs["effectiveDateTime"]]
        measured["at"] = dt.datetime.fromisoformat(obs["effectiveDateTime"])
        code = obs["code"]["coding"][0]["code"]
        if code == "85354-9":
            values = {
                c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"]
                for c in obs["component"]
            }
            measured["sbp"] = values["8480-6"]
        elif code == "67775-7":
            measured["acvpu"] = obs["valueCodeableConcept"]["text"]
        else:
            key = {
                "9279-1": "rr",
                "2708-6": "spo2",
                "3151-8": "o2",
                "8867-4": "hr",
                "8310-5": "temp",
            }
            measured[key[code]] = obs["valueQuantity"]["value"]
    return [by_time[at] for at in sorted(by_time)]


def news2(measured: dict[str, Any]) -> list[int]:
    """The NEWS2 (scale 1) score of each of the seven parameters of a complete round."""

    def band(value: float, limits: list[tuple[float, int]], above: int) -> int:
        return next((score for limit, score in limits if value <= limit), above)

    return [
        band(measured["rr"], [(8, 3), (11, 1), (20, 0), (24, 2)], 3),
        band(measured["spo2"], [(91, 3), (93, 2), (95, 1)], 0),
        2 if measured["o2"] > 0 else 0,
        band(measured["sbp"], [(90, 3), (100, 2), (110, 1), (219, 0)], 3),
        band(measured["hr"], [(40, 3), (50, 1), (90, 0), (110, 1), (130, 2)], 3),
        0 if measured["acvpu"] == "A" else 3,
        band(measured["temp"], [(35.0, 3), (36.0, 1), (38.0, 0), (39.0, 1)], 2),
    ]


def patients_by_trajectory(resources: list[dict[str, Any]], kind: str) -> list[str]:
    return [
        p["id"] for p in of_type(resources, "Patient") if trajectory_of("oslo", p["id"]) == kind
    ]


def test_two_calls_give_the_same_resources(oslo):
    assert generate("oslo") == oslo


def test_different_municipalities_get_different_patients(oslo):
    bergen = of_type(generate("bergen"), "Patient")
    oslo_people = [(p["name"], p["birthDate"]) for p in of_type(oslo, "Patient")]
    assert [(p["name"], p["birthDate"]) for p in bergen] != oslo_people
    assert all(p["id"].startswith("pas-bergen-") for p in bergen)


def test_a_smaller_municipality_has_the_same_first_patients(oslo):
    def patient_of(resource: dict[str, Any]) -> str | None:
        if resource["resourceType"] == "Patient":
            return resource["id"]
        about = resource.get("subject") or resource.get("patient")
        return about["reference"].removeprefix("Patient/") if about else None

    first_twenty = {f"pas-oslo-{n:03d}" for n in range(1, 21)}
    smaller = [r for r in generate("oslo", patients=20) if patient_of(r)]
    assert smaller == [r for r in oslo if patient_of(r) in first_twenty]


def test_every_resource_validates_as_fhir_r4(oslo):
    for resource in oslo:
        model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert model.id == resource["id"]
        assert "meta" not in resource


def test_every_reference_points_to_a_resource_in_the_output(oslo):
    present = {f"{r['resourceType']}/{r['id']}" for r in oslo}
    dangling = {ref for r in oslo for ref in references(r)} - present
    assert dangling == set()
    assert len({ref for r in oslo for ref in references(r)}) > 100


def test_ids_are_valid_and_unique_per_type(oslo):
    assert all(FHIR_ID.fullmatch(r["id"]) for r in oslo)
    counts = Counter((r["resourceType"], r["id"]) for r in oslo)
    assert [key for key, n in counts.items() if n > 1] == []


def test_a_default_municipality_has_at_least_fifty_patients(oslo):
    assert len(of_type(oslo, "Patient")) >= 50


def test_the_first_twelve_patients_are_those_of_auth_demo(oslo):
    patients = {p["id"]: p for p in of_type(oslo, "Patient")}
    encounters = {e["id"]: e for e in of_type(oslo, "Encounter")}
    for demo in patients_for("oslo"):
        patient = patients[demo.id]
        name = patient["name"][0]
        assert f"{' '.join(name['given'])} {name['family']}" == demo.name
        assert patient["birthDate"] == demo.birth_date.isoformat()
        assert patient["gender"] == demo.gender
        assert patient["identifier"][0]["value"] == demo.identifier
        for known in demo.encounters:
            encounter = encounters[known.id]
            assert encounter["status"] == known.status
            assert dt.datetime.fromisoformat(encounter["period"]["start"]) == known.start
            assert encounter["type"][0]["text"] == known.description
            assert encounter["subject"]["reference"] == f"Patient/{demo.id}"


def test_patients_after_the_twelfth_continue_the_numbering_with_encounters(oslo):
    ids = [p["id"] for p in of_type(oslo, "Patient")]
    assert ids == [f"pas-oslo-{n:03d}" for n in range(1, 61)]
    with_encounters = {e["subject"]["reference"] for e in of_type(oslo, "Encounter")}
    assert {f"Patient/{i}" for i in ids} == with_encounters


def test_every_fodselsnummer_has_valid_check_digits_and_the_birth_date(oslo):
    for patient in of_type(oslo, "Patient"):
        identifier = patient["identifier"][0]
        assert identifier["system"] == "urn:oid:2.16.578.1.12.4.1.4.1"
        number = identifier["value"]
        birth_date = dt.date.fromisoformat(patient["birthDate"])
        assert fodselsnummer(birth_date, int(number[6:9])) == number


def test_every_patient_has_an_address_and_a_gp_who_is_a_doctor(oslo):
    practitioners = {f"Practitioner/{p['id']}": p for p in of_type(oslo, "Practitioner")}
    for patient in of_type(oslo, "Patient"):
        assert patient["address"][0]["city"] == "Oslo"
        gp = practitioners[patient["generalPractitioner"][0]["reference"]]
        assert gp["qualification"][0]["code"]["text"] == "Lege"


def test_the_municipality_and_its_units_have_contacts(oslo):
    organizations = {o["id"]: o for o in of_type(oslo, "Organization")}
    assert organizations["org-oslo"]["name"] == "Oslo kommune"
    units = ("hjemmesykepleie", "sykehjem", "fysioterapi", "helsestasjon", "legekontor")
    for unit in units:
        organization = organizations[f"org-oslo-{unit}"]
        assert organization["partOf"]["reference"] == "Organization/org-oslo"
        systems = {t["system"]: t["value"] for t in organization["telecom"]}
        assert re.fullmatch(r"\+47 2\d\d \d\d \d\d\d", systems["phone"])
        assert systems["email"].endswith("@oslo.kommune.example")
    assert organizations["org-oslo-sykehjem"]["name"].endswith(" sykehjem")


def test_clinicians_become_practitioners_with_their_hpr_number():
    kari = Clinician("Kari Nordmann", "9144900", "lege.oslo@torget.example")
    resources = generate("oslo", patients=12, clinicians=[kari])
    practitioner = next(r for r in of_type(resources, "Practitioner") if r["id"] == "hpr-9144900")
    assert practitioner["identifier"] == [{"system": HPR_SYSTEM, "value": "9144900"}]
    assert practitioner["name"][0]["family"] == "Nordmann"
    assert practitioner["name"][0]["given"] == ["Kari"]
    assert practitioner["telecom"][0]["value"] == "lege.oslo@torget.example"
    without = generate("oslo", patients=12)
    assert [r for r in resources if r["id"] != "hpr-9144900"] == without


def test_four_to_six_synthetic_practitioners_have_seven_digit_hpr_numbers(oslo):
    practitioners = of_type(oslo, "Practitioner")
    assert 4 <= len(practitioners) <= 6
    for practitioner in practitioners:
        assert re.fullmatch(r"\d{7}", practitioner["identifier"][0]["value"])
        assert practitioner["id"] == f"hpr-{practitioner['identifier'][0]['value']}"


def test_each_trajectory_occurs_in_a_default_municipality(oslo):
    found = {trajectory_of("oslo", p["id"]) for p in of_type(oslo, "Patient")}
    assert found == set(TRAJECTORIES)


def test_vital_signs_are_final_loinc_coded_and_in_ucum(oslo):
    for obs in of_type(oslo, "Observation"):
        assert obs["status"] == "final"
        assert obs["category"][0]["coding"][0]["code"] == "vital-signs"
        assert obs["code"]["coding"][0]["system"] == "http://loinc.org"
        quantities = [obs.get("valueQuantity")] + [
            c["valueQuantity"] for c in obs.get("component", [])
        ]
        for quantity in filter(None, quantities):
            assert quantity["system"] == "http://unitsofmeasure.org"
        assert dt.datetime.fromisoformat(obs["effectiveDateTime"]) < ANCHOR


def test_stable_patients_latest_round_is_normal_and_never_scores_above_two(oslo):
    stable = patients_by_trajectory(oslo, "stable")
    assert stable
    for patient_id in stable:
        rounds = rounds_of(oslo, patient_id)
        assert 5 <= len(rounds) <= 15
        latest = rounds[-1]
        assert 12 <= latest["rr"] <= 20
        assert latest["spo2"] >= 96
        assert latest["o2"] == 0
        assert 111 <= latest["sbp"] <= 219
        assert 51 <= latest["hr"] <= 90
        assert latest["acvpu"] == "A"
        assert 36.1 <= latest["temp"] <= 38.0
        assert latest["at"] > ANCHOR - dt.timedelta(days=1)
        assert all(sum(news2(r)) <= 2 for r in rounds)


def test_deteriorating_patients_get_worse_through_medium_into_high(oslo):
    deteriorating = patients_by_trajectory(oslo, "deteriorating")
    assert deteriorating
    for patient_id in deteriorating:
        rounds = rounds_of(oslo, patient_id)
        first, latest = rounds[0], rounds[-1]
        assert latest["rr"] > first["rr"]
        assert latest["hr"] > first["hr"]
        assert latest["spo2"] < first["spo2"]
        assert latest["sbp"] < first["sbp"]
        assert latest["temp"] > first["temp"]
        assert latest["acvpu"] == "C"
        assert sum(news2(first)) <= 2
        assert sum(news2(rounds[-2])) in (5, 6)
        assert sum(news2(latest)) >= 7


def test_single_red_patients_have_one_parameter_scoring_three_in_the_latest_round(oslo):
    single_red = patients_by_trajectory(oslo, "single-red")
    assert single_red
    for patient_id in single_red:
        scores = news2(rounds_of(oslo, patient_id)[-1])
        assert sorted(scores) == [0, 0, 0, 0, 0, 0, 3]


def test_some_patients_have_no_vitals_stale_vitals_or_only_some_parameters(oslo):
    for patient_id in patients_by_trajectory(oslo, "none"):
        assert rounds_of(oslo, patient_id) == []
    for patient_id in patients_by_trajectory(oslo, "stale"):
        rounds = rounds_of(oslo, patient_id)
        assert rounds
        assert all(r["at"] < STALE for r in rounds)
    for patient_id in patients_by_trajectory(oslo, "incomplete"):
        rounds = rounds_of(oslo, patient_id)
        assert rounds[-1]["at"] > STALE
        assert all(3 <= len(r) - 1 <= 5 for r in rounds)  # 7 parameters, 2 to 4 missing


def test_conditions_and_medication_statements_are_coded(oslo):
    per_patient = Counter(c["subject"]["reference"] for c in of_type(oslo, "Condition"))
    assert set(per_patient.values()) <= {1, 2, 3, 4}
    assert len(per_patient) == 60
    for condition in of_type(oslo, "Condition"):
        assert condition["code"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/icd-10"
    medications = Counter(m["subject"]["reference"] for m in of_type(oslo, "MedicationStatement"))
    assert set(medications.values()) <= {1, 2, 3, 4, 5}
    assert len(medications) == 60
    for statement in of_type(oslo, "MedicationStatement"):
        assert (
            statement["medicationCodeableConcept"]["coding"][0]["system"]
            == "http://www.whocc.no/atc"
        )
        assert statement["dosage"][0]["text"]


def test_some_patients_have_allergies(oslo):
    allergies = of_type(oslo, "AllergyIntolerance")
    assert 0 < len({a["patient"]["reference"] for a in allergies}) < 60


def test_some_patients_have_no_services_and_most_have_an_episode_with_a_reachable_unit(oslo):
    organizations = {f"Organization/{o['id']}": o for o in of_type(oslo, "Organization")}
    episodes = of_type(oslo, "EpisodeOfCare")
    patients = [p["id"] for p in of_type(oslo, "Patient")]
    without = [p for p in patients if services_of("oslo", p) == []]
    assert 0 < len(without) < len(patients) / 4
    with_episode = {e["patient"]["reference"].removeprefix("Patient/") for e in episodes}
    assert with_episode == set(patients) - set(without)
    for episode in episodes:
        unit = organizations[episode["managingOrganization"]["reference"]]
        assert {t["system"] for t in unit["telecom"]} == {"phone", "email"}
        assert episode["period"]["start"]


def test_services_of_names_the_episodes_and_care_plans_of_each_patient(oslo):
    for patient in of_type(oslo, "Patient"):
        kinds = services_of("oslo", patient["id"])
        assert set(kinds) <= set(SERVICE_KINDS)
        number = patient["id"].removeprefix("pas-")
        episodes = sorted(
            e["id"] for e in of_type(oslo, "EpisodeOfCare") if number + "-" in e["id"]
        )
        plans = sorted(c["id"] for c in of_type(oslo, "CarePlan") if number + "-" in c["id"])
        assert episodes == sorted(f"eoc-{number}-{kind}" for kind in kinds)
        assert plans == sorted(f"cp-{number}-{kind}" for kind in kinds)


def test_a_long_term_stay_ends_home_nursing(oslo):
    episodes = {e["id"]: e for e in of_type(oslo, "EpisodeOfCare")}
    moved = [
        p["id"].removeprefix("pas-")
        for p in of_type(oslo, "Patient")
        if {"langtidsopphold", "hjemmesykepleie"} <= set(services_of("oslo", p["id"]))
    ]
    assert moved
    for number in moved:
        home = episodes[f"eoc-{number}-hjemmesykepleie"]
        stay = episodes[f"eoc-{number}-langtidsopphold"]
        assert home["status"] == "finished"
        assert home["period"]["end"] <= stay["period"]["start"]


def test_service_requests_are_orders_to_the_unit_of_an_episode(oslo):
    requests = of_type(oslo, "ServiceRequest")
    assert requests
    managing = {
        (e["patient"]["reference"], e["managingOrganization"]["reference"])
        for e in of_type(oslo, "EpisodeOfCare")
    }
    for request in requests:
        assert request["intent"] == "order"
        assert (request["subject"]["reference"], request["performer"][0]["reference"]) in managing


def test_trajectory_of_refuses_a_patient_of_another_municipality():
    with pytest.raises(ValueError, match="pas-bergen-001"):
        trajectory_of("oslo", "pas-bergen-001")


@pytest.mark.parametrize("slug", [slug for slug, *_rest in FKJ_MUNICIPALITIES] + ["sandkasse"])
def test_every_demo_municipality_is_whole_and_shows_every_trajectory(slug):
    resources = generate(slug)
    present = {f"{r['resourceType']}/{r['id']}" for r in resources}
    assert {ref for r in resources for ref in references(r)} <= present
    patients = [p["id"] for p in of_type(resources, "Patient")]
    assert {trajectory_of(slug, p) for p in patients} == set(TRAJECTORIES)
    assert any(services_of(slug, p) == [] for p in patients)
