"""FHIR search parameters: index entries of resources, date ranges, and parsed requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.episodeofcare import EpisodeOfCare
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.servicerequest import ServiceRequest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.search_params import (
    DEFAULT_COUNT,
    END_OF_TIME,
    MAX_COUNT,
    MAX_CRITERIA,
    START_OF_TIME,
    SUPPORTED_TYPES,
    Criterion,
    IndexEntry,
    SearchRefused,
    Value,
    compartment_patient,
    date_range,
    index_entries,
    normalize,
    parse_search,
    references_to_patient,
    supported_parameters,
)

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
HPR = "urn:oid:2.16.578.1.12.4.1.4.4"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def valid(model: Any, resource: dict[str, Any]) -> dict[str, Any]:
    """The resource, once the R4B model has accepted it: the fixtures are real FHIR."""
    model.model_validate(resource)
    return resource


def entries_for(resource: dict[str, Any], param: str) -> list[IndexEntry]:
    return [entry for entry in index_entries(resource) if entry.param == param]


PATIENT = valid(
    Patient,
    {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [{"system": FNR, "value": "01015012345"}],
        "name": [
            {"family": "Nordmann", "given": ["Kari", "Åse"]},
            {"text": "Kari Ørjansdatter"},
        ],
        "gender": "female",
        "birthDate": "1950-03-04",
    },
)

OBSERVATION = valid(
    Observation,
    {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "identifier": [{"system": "urn:lab", "value": "A-17"}],
        "category": [{"coding": [{"system": CATEGORY, "code": "vital-signs"}]}],
        "code": {
            "coding": [
                {"system": LOINC, "code": "8867-4", "display": "Heart rate"},
                {"system": SNOMED, "code": "364075005"},
            ]
        },
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-11-04T10:30:00+01:00",
        "valueQuantity": {"value": 72, "unit": "/min"},
    },
)


# --- Indexing ------------------------------------------------------------------------------


def test_an_observation_is_indexed_under_each_of_its_codings() -> None:
    assert entries_for(OBSERVATION, "code") == [
        IndexEntry("code", "token", LOINC, "8867-4"),
        IndexEntry("code", "token", SNOMED, "364075005"),
    ]


def test_an_observation_is_indexed_by_id_status_category_identifier_date_and_patient() -> None:
    entries = index_entries(OBSERVATION)
    assert IndexEntry("_id", "token", None, "o1") in entries
    assert IndexEntry("status", "token", None, "final") in entries
    assert IndexEntry("category", "token", CATEGORY, "vital-signs") in entries
    assert IndexEntry("identifier", "token", "urn:lab", "A-17") in entries
    assert IndexEntry("patient", "reference", "Patient", "p1") in entries
    assert IndexEntry("subject", "reference", "Patient", "p1") in entries
    # The second of a dateTime, moved to UTC.
    assert entries_for(OBSERVATION, "date") == [
        IndexEntry("date", "date", start=utc(2026, 11, 4, 9, 30), end=utc(2026, 11, 4, 9, 30, 1))
    ]


def test_last_updated_is_left_to_the_store() -> None:
    assert entries_for(OBSERVATION, "_lastUpdated") == []


def test_a_patient_with_two_names_is_indexed_by_every_name_part_normalized() -> None:
    names = entries_for(PATIENT, "name")
    assert [entry.value for entry in names] == ["nordmann", "kari", "ase", "kari ørjansdatter"]
    # The text as written rides along for :exact.
    assert [entry.system for entry in names] == ["Nordmann", "Kari", "Åse", "Kari Ørjansdatter"]
    assert [entry.value for entry in entries_for(PATIENT, "family")] == ["nordmann"]
    assert [entry.value for entry in entries_for(PATIENT, "given")] == ["kari", "ase"]


def test_a_patient_is_indexed_by_birthdate_as_a_whole_day_gender_and_identifier() -> None:
    entries = index_entries(PATIENT)
    assert IndexEntry("birthdate", "date", start=utc(1950, 3, 4), end=utc(1950, 3, 5)) in entries
    assert IndexEntry("gender", "token", None, "female") in entries
    assert IndexEntry("identifier", "token", FNR, "01015012345") in entries


def test_the_same_value_twice_gives_one_entry() -> None:
    patient = {**PATIENT, "name": [{"family": "Hansen"}, {"family": "Hansen"}]}
    assert entries_for(patient, "family") == [IndexEntry("family", "string", "Hansen", "hansen")]


def test_an_encounter_with_an_open_period_runs_to_the_end_of_time() -> None:
    encounter = valid(
        Encounter,
        {
            "resourceType": "Encounter",
            "id": "e1",
            "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "HH"},
            "subject": {"reference": "Patient/p1"},
            "period": {"start": "2026-11-04T08:00:00Z"},
        },
    )
    assert entries_for(encounter, "date") == [
        IndexEntry("date", "date", start=utc(2026, 11, 4, 8), end=END_OF_TIME)
    ]
    assert entries_for(encounter, "patient") == [
        IndexEntry("patient", "reference", "Patient", "p1")
    ]


def test_a_period_runs_from_its_start_to_the_end_of_its_last_day() -> None:
    care_plan = valid(
        CarePlan,
        {
            "resourceType": "CarePlan",
            "id": "cp1",
            "status": "active",
            "intent": "plan",
            "subject": {"reference": "Patient/p1"},
            "period": {"start": "2026-01-15", "end": "2026-06"},
            "category": [{"coding": [{"system": SNOMED, "code": "736353004"}]}],
        },
    )
    assert entries_for(care_plan, "date") == [
        IndexEntry("date", "date", start=utc(2026, 1, 15), end=utc(2026, 7, 1))
    ]
    assert entries_for(care_plan, "category") == [
        IndexEntry("category", "token", SNOMED, "736353004")
    ]


def test_a_period_with_only_an_end_starts_at_the_start_of_time() -> None:
    episode = valid(
        EpisodeOfCare,
        {
            "resourceType": "EpisodeOfCare",
            "id": "ep1",
            "status": "finished",
            "patient": {"reference": "Patient/p1"},
            "managingOrganization": {"reference": "Organization/org1"},
            "period": {"end": "2026-02-01"},
        },
    )
    entries = index_entries(episode)
    assert IndexEntry("date", "date", start=START_OF_TIME, end=utc(2026, 2, 2)) in entries
    assert IndexEntry("organization", "reference", "Organization", "org1") in entries
    assert IndexEntry("patient", "reference", "Patient", "p1") in entries
    assert compartment_patient(episode) == "p1"


def test_a_medication_statement_is_coded_by_its_medication_codeable_concept() -> None:
    statement = valid(
        MedicationStatement,
        {
            "resourceType": "MedicationStatement",
            "id": "ms1",
            "status": "active",
            "medicationCodeableConcept": {
                "coding": [{"system": "http://www.whocc.no/atc", "code": "N02BE01"}],
                "text": "Paracetamol",
            },
            "subject": {"reference": "Patient/p1"},
            "effectivePeriod": {"start": "2026-11-01"},
        },
    )
    entries = index_entries(statement)
    assert entries_for(statement, "code") == [
        IndexEntry("code", "token", "http://www.whocc.no/atc", "N02BE01")
    ]
    assert IndexEntry("effective", "date", start=utc(2026, 11, 1), end=END_OF_TIME) in entries
    assert entries_for(statement, "date") == []


def test_an_allergy_is_indexed_by_category_codes_clinical_status_and_patient() -> None:
    allergy = valid(
        AllergyIntolerance,
        {
            "resourceType": "AllergyIntolerance",
            "id": "a1",
            "clinicalStatus": {"coding": [{"system": ALLERGY_CLINICAL, "code": "active"}]},
            "category": ["food", "medication"],
            "code": {"coding": [{"system": SNOMED, "code": "91935009"}]},
            "patient": {"reference": "Patient/p1"},
        },
    )
    entries = index_entries(allergy)
    assert entries_for(allergy, "category") == [
        IndexEntry("category", "token", None, "food"),
        IndexEntry("category", "token", None, "medication"),
    ]
    assert IndexEntry("clinical-status", "token", ALLERGY_CLINICAL, "active") in entries
    assert compartment_patient(allergy) == "p1"


def test_a_condition_has_clinical_status_and_no_date() -> None:
    condition = {
        "resourceType": "Condition",
        "id": "c1",
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "code": {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.7170", "code": "T90"}]},
        "subject": {"reference": "Patient/p1"},
        "onsetDateTime": "2020-05-01",
    }
    entries = index_entries(condition)
    assert IndexEntry("clinical-status", "token", CLINICAL, "active") in entries
    assert {entry.param for entry in entries} == {
        "_id",
        "code",
        "clinical-status",
        "patient",
        "subject",
    }


def test_a_service_request_is_dated_by_when_it_was_authored() -> None:
    request = valid(
        ServiceRequest,
        {
            "resourceType": "ServiceRequest",
            "id": "sr1",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/p1"},
            "authoredOn": "2026-11-04T12:00:00Z",
        },
    )
    assert entries_for(request, "authored") == [
        IndexEntry("authored", "date", start=utc(2026, 11, 4, 12), end=utc(2026, 11, 4, 12, 0, 1))
    ]


def test_an_organization_is_found_by_name_and_alias() -> None:
    organization = valid(
        Organization,
        {
            "resourceType": "Organization",
            "id": "org1",
            "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.101", "value": "974760673"}],
            "name": "Bærum kommune",
            "alias": ["Bærum helse"],
        },
    )
    assert [entry.value for entry in entries_for(organization, "name")] == [
        "bærum kommune",
        "bærum helse",
    ]
    assert compartment_patient(organization) is None


def test_a_practitioner_is_in_no_patient_compartment() -> None:
    practitioner = valid(
        Practitioner,
        {
            "resourceType": "Practitioner",
            "id": "pr1",
            "identifier": [{"system": HPR, "value": "9144889"}],
            "name": [{"family": "Lege", "given": ["Lise"]}],
        },
    )
    assert IndexEntry("identifier", "token", HPR, "9144889") in index_entries(practitioner)
    assert compartment_patient(practitioner) is None


def test_a_patient_is_its_own_compartment() -> None:
    assert compartment_patient(PATIENT) == "p1"


@pytest.mark.parametrize(
    "reference", ["#contained", "http://other.example/fhir/Patient/p1", "Patient", "p1"]
)
def test_references_that_point_nowhere_in_the_store_give_no_entry(reference: str) -> None:
    observation = {**OBSERVATION, "subject": {"reference": reference}}
    assert entries_for(observation, "subject") == []
    assert compartment_patient(observation) is None


def test_a_versioned_reference_is_indexed_by_its_id() -> None:
    observation = {**OBSERVATION, "subject": {"reference": "Patient/p1/_history/3"}}
    assert entries_for(observation, "patient") == [
        IndexEntry("patient", "reference", "Patient", "p1")
    ]


def test_a_group_subject_is_a_subject_but_not_a_patient() -> None:
    observation = {**OBSERVATION, "subject": {"reference": "Group/g1"}}
    assert entries_for(observation, "subject") == [
        IndexEntry("subject", "reference", "Group", "g1")
    ]
    assert entries_for(observation, "patient") == []
    assert compartment_patient(observation) is None


def test_an_unsupported_type_or_a_bad_date_cannot_be_indexed() -> None:
    with pytest.raises(ValueError, match="Medication"):
        index_entries({"resourceType": "Medication", "id": "m1"})
    with pytest.raises(ValueError, match="not a FHIR date"):
        index_entries({**PATIENT, "birthDate": "04.03.1950"})


# --- Strings and dates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("Åse", "ase"),
        ("ØRJAN", "ørjan"),
        ("Ærlig", "ærlig"),
        ("  José   Núñez ", "jose nunez"),
        ("Straße", "strasse"),
    ],
)
def test_strings_are_normalized_without_case_or_accents(text: str, normalized: str) -> None:
    assert normalize(text) == normalized


@given(st.text())
def test_normalizing_twice_changes_nothing(text: str) -> None:
    assert normalize(normalize(text)) == normalize(text)


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("2026", utc(2026, 1, 1), utc(2027, 1, 1)),
        ("2026-11", utc(2026, 11, 1), utc(2026, 12, 1)),
        ("2026-12", utc(2026, 12, 1), utc(2027, 1, 1)),
        ("2024-02-29", utc(2024, 2, 29), utc(2024, 3, 1)),
        ("2026-11-04T10:00Z", utc(2026, 11, 4, 10), utc(2026, 11, 4, 10, 1)),
        ("2026-11-04T10:00:05+01:00", utc(2026, 11, 4, 9, 0, 5), utc(2026, 11, 4, 9, 0, 6)),
        ("2026-11-04T23:30:00-02:30", utc(2026, 11, 5, 2), utc(2026, 11, 5, 2, 0, 1)),
        (
            "2026-11-04T10:00:05.25Z",
            utc(2026, 11, 4, 10, 0, 5, 250000),
            utc(2026, 11, 4, 10, 0, 5, 260000),
        ),
        (
            "2026-11-04T10:00:05.123456789Z",
            utc(2026, 11, 4, 10, 0, 5, 123456),
            utc(2026, 11, 4, 10, 0, 5, 123457),
        ),
        ("2026-12-31T23:59:60Z", utc(2027, 1, 1), utc(2027, 1, 1, 0, 0, 1)),
        ("2026-11-04T10:00:00+14:00", utc(2026, 11, 3, 20), utc(2026, 11, 3, 20, 0, 1)),
        ("9999", utc(9999, 1, 1), END_OF_TIME),
        ("9999-12-31", utc(9999, 12, 31), END_OF_TIME),
    ],
)
def test_a_date_stands_for_the_range_its_precision_covers(
    value: str, start: datetime, end: datetime
) -> None:
    assert date_range(value) == (start, end)


DATE_PIECES = ["0001", "9999", "2026", "-", "02", "12", "29", "31", "T", "00", "23", "59", "60",
               ":", ".", "123456789", "Z", "+", "14:00", "-14:00", "+01:00"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(DATE_PIECES), max_size=12).map("".join) | st.text(max_size=30))
def test_a_date_range_is_a_utc_range_or_a_value_error(text: str) -> None:
    try:
        start, end = date_range(text)
    except ValueError:
        return  # refusing is an answer; any other exception fails the test
    assert start.utcoffset() == timedelta(0)
    assert start < end


def test_date_ranges_are_aware_utc() -> None:
    start, end = date_range("2026-06-01T12:00:00+02:00")
    assert start.utcoffset() == timedelta(0)
    assert end.tzinfo is not None
    assert start == datetime(2026, 6, 1, 12, tzinfo=timezone(timedelta(hours=2)))


@pytest.mark.parametrize(
    "value",
    [
        "notadate",
        "",
        "26",
        "0000",
        "2026-13",
        "2026-02-30",
        "2026-11-04T10:00",  # a time needs a zone
        "2026-11-04T10:00:00",
        "2026-11-04T24:00Z",
        "2026-11-04T10:00:61Z",
        "2026-11-04T10:00+15:00",
        "2026-11-04T10:00+01:60",
        "2026-11-04 10:00Z",
        "\uff12\uff10\uff12\uff16",  # digits, but not ASCII ones
        "2026\n",
        "0001-01-01T00:00:00+01:00",  # before the calendar once in UTC
    ],
)
def test_anything_but_a_fhir_date_is_refused(value: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies with the flaw
        date_range(value)


# --- Parsing: criteria ---------------------------------------------------------------------


def only_criterion(resource_type: str, name: str, value: str) -> Criterion:
    (criterion,) = parse_search(resource_type, [(name, value)]).criteria
    return criterion


def refusal(resource_type: str, params: list[tuple[str, str]], **options: bool) -> SearchRefused:
    with pytest.raises(SearchRefused) as caught:
        parse_search(resource_type, params, **options)
    return caught.value


def test_an_empty_request_is_a_search_for_everything_a_page_at_a_time() -> None:
    search = parse_search("Observation", [])
    assert search.criteria == ()
    assert search.count == DEFAULT_COUNT
    assert (search.sort, search.include, search.revinclude) == ((), (), ())
    assert (search.summary_count, search.page, search.ignored) == (False, None, ())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8867-4", Value(system=None, value="8867-4")),
        (f"{LOINC}|8867-4", Value(system=LOINC, value="8867-4")),
        ("|8867-4", Value(system="", value="8867-4")),
        (f"{LOINC}|", Value(system=LOINC, value=None)),
    ],
)
def test_a_token_is_a_code_in_any_system_in_a_system_or_in_none(
    value: str, expected: Value
) -> None:
    criterion = only_criterion("Observation", "code", value)
    assert (criterion.param, criterion.kind, criterion.modifier) == ("code", "token", None)
    assert criterion.values == (expected,)


@pytest.mark.parametrize("value", ["|", "a|b|c"])
def test_a_token_with_no_code_and_no_system_or_too_many_bars_is_refused(value: str) -> None:
    assert refusal("Observation", [("code", value)]).param == "code"


def test_a_token_can_be_negated() -> None:
    criterion = only_criterion("Observation", "status:not", "cancelled")
    assert criterion.modifier == "not"
    assert criterion.values == (Value(value="cancelled"),)


def test_an_id_is_a_plain_resource_id() -> None:
    assert only_criterion("Patient", "_id", "p1").values == (Value(value="p1"),)
    assert refusal("Patient", [("_id", "sys|p1")]).param == "_id"
    assert refusal("Patient", [("_id", "p 1")]).param == "_id"


@pytest.mark.parametrize(
    ("name", "modifier", "system"),
    [
        ("name", None, "Kåre"),
        ("name:exact", "exact", "Kåre"),
        ("name:contains", "contains", "Kåre"),
    ],
)
def test_a_string_is_normalized_and_keeps_the_text_for_exact(
    name: str, modifier: str | None, system: str
) -> None:
    criterion = only_criterion("Patient", name, "Kåre")
    assert (criterion.param, criterion.kind, criterion.modifier) == ("name", "string", modifier)
    assert criterion.values == (Value(system=system, value="kare"),)


def test_a_string_of_nothing_but_accents_is_an_empty_value() -> None:
    assert "empty" in refusal("Patient", [("family", "\u0301")]).message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Patient/p1", Value(system="Patient", value="p1")),
        ("p1", Value(system="Patient", value="p1")),  # patient refers only to Patients
    ],
)
def test_a_patient_reference_is_a_patient_id(value: str, expected: Value) -> None:
    assert only_criterion("Observation", "patient", value).values == (expected,)


def test_a_subject_reference_without_a_type_matches_any_type() -> None:
    assert only_criterion("Observation", "subject", "p1").values == (Value(value="p1"),)
    assert only_criterion("Observation", "subject", "Group/g1").values == (
        Value(system="Group", value="g1"),
    )


def test_a_type_modifier_on_a_reference_sets_the_type() -> None:
    criterion = only_criterion("Observation", "subject:Patient", "p1")
    assert criterion.modifier == "Patient"
    assert criterion.values == (Value(system="Patient", value="p1"),)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("patient", "Group/g1"),
        ("subject", "Practitioner/pr1"),
        ("subject:Patient", "Group/g1"),
        ("subject", "http://other.example/fhir/Patient/p1"),
        ("subject", "Patient/p1/_history/2"),
    ],
)
def test_a_reference_to_the_wrong_type_or_elsewhere_is_refused(name: str, value: str) -> None:
    assert refusal("Observation", [(name, value)]).param == name


@pytest.mark.parametrize(
    ("text", "prefix"),
    [("2026-11", "eq"), ("eq2026-11", "eq"), ("ne2026-11", "ne"), ("gt2026-11", "gt"),
     ("lt2026-11", "lt"), ("ge2026-11", "ge"), ("le2026-11", "le")],
)  # fmt: skip
def test_a_date_takes_a_prefix_and_stands_for_a_range(text: str, prefix: str) -> None:
    (parsed,) = only_criterion("Observation", "date", text).values
    assert parsed == Value(prefix=prefix, start=utc(2026, 11, 1), end=utc(2026, 12, 1))


def test_last_updated_is_a_date_on_every_type() -> None:
    criterion = only_criterion("Organization", "_lastUpdated", "gt2026-11-04T10:00:00Z")
    assert (criterion.param, criterion.kind) == ("_lastUpdated", "date")
    assert criterion.values[0].prefix == "gt"
    assert criterion.values[0].start == utc(2026, 11, 4, 10)


def test_a_plus_decoded_as_a_space_in_a_time_zone_is_read_as_a_plus() -> None:
    (parsed,) = only_criterion("Observation", "date", "ge2026-11-04T10:00:00 01:00").values
    assert parsed.start == utc(2026, 11, 4, 9)


@pytest.mark.parametrize("prefix", ["sa", "eb", "ap"])
def test_the_range_prefixes_are_refused_by_name(prefix: str) -> None:
    refused = refusal("Observation", [("date", f"{prefix}2026-11")])
    assert refused.param == "date"
    assert f"prefix {prefix} is not supported" in refused.message


@pytest.mark.parametrize("value", ["notadate", "xx2026", "2026-11-04T10:00", "ge"])
def test_a_bad_date_is_refused_even_under_lenient_handling(value: str) -> None:
    assert refusal("Observation", [("date", value)], lenient=True).param == "date"


@pytest.mark.parametrize("value", ["true", "false"])
def test_missing_works_on_any_parameter(value: str) -> None:
    for resource_type, name in [("Patient", "birthdate"), ("Observation", "subject")]:
        criterion = only_criterion(resource_type, f"{name}:missing", value)
        assert criterion.modifier == "missing"
        assert criterion.values == (Value(value=value),)


def test_missing_takes_true_or_false_only() -> None:
    assert refusal("Patient", [("gender:missing", "yes")]).param == "gender:missing"


@pytest.mark.parametrize(
    ("resource_type", "name"),
    [("Observation", "code:text"), ("Observation", "subject:identifier"),
     ("Observation", "code:in"), ("Patient", "family:below"), ("Observation", "date:exact"),
     ("Observation", "code:"), ("Observation", "subject:Organization"),
     ("Patient", "gender:contains"), ("Patient", "_id:exact")],
)  # fmt: skip
def test_unsupported_modifiers_are_refused_even_under_lenient_handling(
    resource_type: str, name: str
) -> None:
    refused = refusal(resource_type, [(name, "x")], lenient=True)
    assert refused.param == name
    assert "modifier" in refused.message


def test_commas_or_values_and_repeated_parameters_and_them() -> None:
    search = parse_search("Observation", [("code", "a,b"), ("code", "c")])
    assert [criterion.values for criterion in search.criteria] == [
        (Value(value="a"), Value(value="b")),
        (Value(value="c"),),
    ]


def test_escaped_commas_bars_and_backslashes_are_part_of_the_value() -> None:
    criterion = only_criterion("Patient", "identifier", r"urn:x\|y|a\,b\\c\$d,e")
    assert criterion.values == (Value(system="urn:x|y", value="a,b\\c$d"), Value(value="e"))


@pytest.mark.parametrize("value", [r"a\b", "a\\"])
def test_a_backslash_escaping_anything_else_is_refused(value: str) -> None:
    assert "backslash" in refusal("Observation", [("code", value)]).message


@pytest.mark.parametrize("value", ["", "a,,b", ",a", "a,"])
def test_an_empty_value_is_refused(value: str) -> None:
    assert "empty value" in refusal("Observation", [("code", value)]).message


def test_at_most_thirty_criteria() -> None:
    params = [("code", str(number)) for number in range(MAX_CRITERIA)]
    assert len(parse_search("Observation", params).criteria) == MAX_CRITERIA
    assert refusal("Observation", [*params, ("status", "final")]).param == "status"


def test_a_value_over_a_thousand_characters_is_refused() -> None:
    assert parse_search("Observation", [("code", "x" * 1000)]).criteria
    assert "longer than 1000" in refusal("Observation", [("code", "x" * 1001)]).message


@pytest.mark.parametrize(("name", "value"), [("code", "a\x00b"), ("co\x00de", "a")])
def test_control_characters_are_refused(name: str, value: str) -> None:
    assert "control character" in refusal("Observation", [(name, value)], lenient=True).message


# --- Parsing: unknown, refused and chained parameters --------------------------------------


def test_an_unknown_parameter_is_refused_by_name() -> None:
    refused = refusal("Patient", [("shoe-size", "42")])
    assert refused.param == "shoe-size"
    assert "shoe-size" in refused.message


def test_a_parameter_of_another_type_is_unknown() -> None:
    assert refusal("Condition", [("date", "2026")]).param == "date"
    assert refusal("MedicationStatement", [("date", "2026")]).param == "date"


def test_under_lenient_handling_unknown_parameters_are_ignored_and_listed() -> None:
    search = parse_search(
        "Patient", [("shoe-size", "42"), ("family", "Hansen"), ("_elements", "id")], lenient=True
    )
    assert search.ignored == ("shoe-size", "_elements")
    assert [criterion.param for criterion in search.criteria] == ["family"]


@pytest.mark.parametrize(
    "name",
    ["subject.name", "patient:Patient.name", "_has:Observation:patient:code", "_has",
     "_filter", "_query", "_text", "_content", "_list"],
)  # fmt: skip
def test_chains_has_and_other_search_languages_are_refused_even_when_lenient(name: str) -> None:
    refused = refusal("Observation", [(name, "x")], lenient=True)
    assert refused.param == name
    assert "not supported" in refused.message


def test_an_overlong_parameter_name_is_refused_even_when_lenient() -> None:
    refused = refusal("Patient", [("x" * 101, "1")], lenient=True)
    assert len(refused.param) <= 101


def test_an_unsupported_resource_type_is_the_callers_error() -> None:
    with pytest.raises(ValueError, match="Medication"):
        parse_search("Medication", [])


# --- Parsing: result parameters ------------------------------------------------------------


@pytest.mark.parametrize(("value", "count"), [("0", 0), ("5", 5), ("100", 100), ("101", 100),
                                              ("99999999999999999999", MAX_COUNT)])  # fmt: skip
def test_count_is_capped_at_the_maximum(value: str, count: int) -> None:
    assert parse_search("Observation", [("_count", value)]).count == count


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "", " 5", "\u0665"])
def test_a_count_that_is_not_a_whole_number_is_refused_even_when_lenient(value: str) -> None:
    assert refusal("Observation", [("_count", value)], lenient=True).param == "_count"


def test_a_single_valued_result_parameter_given_twice_is_refused() -> None:
    assert "more than once" in refusal("Observation", [("_count", "1"), ("_count", "2")]).message


def test_sort_by_date_and_last_updated_either_way() -> None:
    search = parse_search("Observation", [("_sort", "-date,_lastUpdated")])
    assert search.sort == (("date", True), ("_lastUpdated", False))


@pytest.mark.parametrize(
    ("resource_type", "value"),
    [("Patient", "date"), ("MedicationStatement", "-date"), ("Observation", "code"),
     ("Observation", "date,-date"), ("Observation", ""), ("Observation", "--date")],
)  # fmt: skip
def test_sort_by_anything_else_is_refused(resource_type: str, value: str) -> None:
    assert refusal(resource_type, [("_sort", value)]).param == "_sort"


def test_includes_name_reference_parameters_of_the_searched_type() -> None:
    search = parse_search(
        "Observation",
        [
            ("_include", "Observation:patient"),
            ("_include", "Observation:subject:Patient"),
            ("_include", "Observation:patient"),
        ],
    )
    assert search.include == (
        ("Observation", "patient", None),
        ("Observation", "subject", "Patient"),
    )


@pytest.mark.parametrize(
    "value",
    ["Observation:code", "Patient:patient", "Observation:subject:Practitioner", "*",
     "Observation", "Observation:patient:Patient:x", "Observation::Patient", "Medication:x"],
)  # fmt: skip
def test_an_include_of_anything_else_is_refused(value: str) -> None:
    assert refusal("Observation", [("_include", value)]).param == "_include"


def test_includes_may_not_iterate() -> None:
    refused = refusal("Observation", [("_include:iterate", "Observation:patient")])
    assert refused.param == "_include:iterate"


def test_revincludes_name_references_to_the_searched_type() -> None:
    search = parse_search(
        "Patient",
        [("_revinclude", "Observation:subject"), ("_revinclude", "EpisodeOfCare:patient:Patient")],
    )
    assert search.revinclude == (
        ("Observation", "subject", None),
        ("EpisodeOfCare", "patient", "Patient"),
    )
    organization = parse_search("Organization", [("_revinclude", "EpisodeOfCare:organization")])
    assert organization.revinclude == (("EpisodeOfCare", "organization", None),)


@pytest.mark.parametrize(
    "value",
    ["EpisodeOfCare:organization", "Observation:subject:Group", "Observation:code",
     "Observation:patient:Organization"],
)  # fmt: skip
def test_a_revinclude_that_cannot_point_at_the_searched_type_is_refused(value: str) -> None:
    assert refusal("Patient", [("_revinclude", value)]).param == "_revinclude"


def test_summary_count_page_total_and_json_format() -> None:
    search = parse_search(
        "Observation",
        [
            ("_summary", "count"),
            ("_page", "c2Vjb25k_page-2"),
            ("_total", "accurate"),
            ("_format", "application/fhir+json"),
        ],
    )
    assert search.summary_count is True
    assert search.page == "c2Vjb25k_page-2"
    assert search.ignored == ()


@pytest.mark.parametrize(
    ("name", "value"),
    [("_summary", "true"), ("_summary", "text"), ("_format", "xml"),
     ("_format", "application/fhir+xml"), ("_page", "a/b"), ("_page", "x" * 1001),
     ("_total", "all")],
)  # fmt: skip
def test_other_summaries_formats_pages_and_totals_are_refused(name: str, value: str) -> None:
    assert refusal("Observation", [(name, value)], lenient=True).param == name


# --- Capabilities and compartments ---------------------------------------------------------


def test_supported_parameters_name_each_parameter_and_its_kind() -> None:
    assert supported_parameters("Patient") == {
        "_id": "token",
        "_lastUpdated": "date",
        "identifier": "token",
        "name": "string",
        "family": "string",
        "given": "string",
        "birthdate": "date",
        "gender": "token",
    }
    assert supported_parameters("MedicationStatement")["effective"] == "date"
    assert supported_parameters("EpisodeOfCare")["organization"] == "reference"
    assert len(SUPPORTED_TYPES) == 11
    with pytest.raises(ValueError, match="Group"):
        supported_parameters("Group")


@pytest.mark.parametrize(
    ("resource_type", "params", "patients"),
    [
        ("Observation", [("patient", "p1,p2")], {"p1", "p2"}),
        ("Observation", [("subject", "Patient/p1")], {"p1"}),
        ("Observation", [("subject:Patient", "p1")], {"p1"}),
        ("Observation", [("patient", "p1,p2"), ("subject", "Patient/p2")], {"p2"}),
        ("Observation", [("patient", "p1"), ("patient", "p2")], set()),
        ("Patient", [("_id", "p1")], {"p1"}),
        ("Observation", [], None),
        ("Observation", [("code", "8867-4")], None),
        ("Observation", [("subject", "p1")], None),  # could be Group/p1
        ("Observation", [("subject", "Patient/p1,Group/g1")], None),
        ("Observation", [("patient:missing", "false")], None),
        ("Patient", [("_id:not", "p1")], None),
        ("Observation", [("_id", "o1")], None),
    ],
)
def test_references_to_patient_are_the_patients_a_search_restricts_itself_to(
    resource_type: str, params: list[tuple[str, str]], patients: set[str] | None
) -> None:
    assert references_to_patient(parse_search(resource_type, params)) == patients


# --- Anything an attacker sends ------------------------------------------------------------

NAME_PIECES = [
    *{name for resource_type in SUPPORTED_TYPES for name in supported_parameters(resource_type)},
    "_count", "_sort", "_include", "_revinclude", "_summary", "_total", "_format", "_page",
    "_has", "_filter", ":missing", ":exact", ":contains", ":not", ":Patient", ":", ".", "-",
]  # fmt: skip
VALUE_PIECES = [
    "Patient/", "Observation:", "|", ",", "\\", "\\,", "$", "-", "ge", "sa", "2026", "-11",
    "-04", "T10:00", ":00", "Z", "+01:00", ".5", "true", "false", "count", "json", "date",
]  # fmt: skip


def _texts(pieces: list[str]) -> st.SearchStrategy[str]:
    pieced = st.lists(st.sampled_from(pieces) | st.text(max_size=4), max_size=6).map("".join)
    return pieced | st.text(max_size=40)


@settings(max_examples=400, deadline=None)
@given(
    resource_type=st.sampled_from(SUPPORTED_TYPES),
    params=st.lists(st.tuples(_texts(NAME_PIECES), _texts(VALUE_PIECES)), max_size=8),
    lenient=st.booleans(),
)
def test_any_request_is_parsed_or_refused_and_nothing_else(
    resource_type: str, params: list[tuple[str, str]], lenient: bool
) -> None:
    try:
        search = parse_search(resource_type, params, lenient=lenient)
    except SearchRefused:
        return  # refusing is an answer; any other exception fails the test
    assert len(search.criteria) <= MAX_CRITERIA
    assert 0 <= search.count <= MAX_COUNT
    references_to_patient(search)
