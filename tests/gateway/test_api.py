"""The FHIR API through the gateway: reads, searches and writes, within exactly the grant."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from gateway.models import AccessEvent, FhirResource
from tests.gateway.conftest import VITAL_SIGNS, bearer, observation, patient
from torget.db import db

BASE = "/fhir/{slug}"


def url(tenant, path: str) -> str:
    return f"/fhir/{tenant.organisation.slug}/{path}"


def stored_count(tenant) -> int:
    return db.session.scalar(
        select(func.count()).select_from(FhirResource).where(FhirResource.tenant_id == tenant.id)
    )


def events() -> list[AccessEvent]:
    return list(db.session.scalars(select(AccessEvent).order_by(AccessEvent.id)))


def issues(response) -> list[dict]:
    body = response.get_json(force=True)
    assert body["resourceType"] == "OperationOutcome", body
    return body["issue"]


def ids(response) -> list[str]:
    body = response.get_json(force=True)
    assert body["resourceType"] == "Bundle", body
    return [
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in body["entry"]
        if e["search"]["mode"] != "outcome"
    ]


# --- reading ---------------------------------------------------------------------------------


def test_a_user_token_reads_a_resource_with_its_version(client, fhir, token):
    access = token("user/Observation.rs")
    response = client.get(url(fhir, "Observation/kari-pulse-1"), headers=bearer(access))
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    body = response.get_json(force=True)
    assert body["id"] == "kari-pulse-1"
    assert body["meta"]["versionId"] == "1"
    assert response.headers["ETag"] == 'W/"1"'
    (event,) = events()
    assert (event.interaction, event.outcome, event.status) == ("read", "allowed", 200)
    assert event.resource_ids == ["Observation/kari-pulse-1"]
    assert event.scopes == "user/Observation.rs"


def test_without_a_token_the_answer_is_401_with_a_challenge(client, fhir):
    response = client.get(url(fhir, "Observation/kari-pulse-1"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="')
    assert issues(response)[0]["code"] == "login"
    (event,) = events()
    assert (event.outcome, event.status, event.client_id) == ("denied", 401, None)


@pytest.mark.parametrize("access", ["not-a-jwt", "a.b.c", "x" * 9000])
def test_a_token_that_is_not_ours_is_401_invalid_token(client, fhir, access):
    response = client.get(url(fhir, "Patient/kari"), headers=bearer(access))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_token_of_another_municipality_is_401(client, fhir, token):
    from tests.factories.marketplace import TenantFactory

    other = TenantFactory()
    access = token("user/Patient.rs", tenant=other)
    response = client.get(url(fhir, "Patient/kari"), headers=bearer(access))
    assert response.status_code == 401
    assert "another FHIR base" in response.headers["WWW-Authenticate"]


def test_a_scope_for_another_type_or_interaction_is_403(client, fhir, token):
    reader = token("user/Observation.r")
    search = client.get(url(fhir, "Observation?patient=kari"), headers=bearer(reader))
    assert search.status_code == 403
    assert issues(search)[0]["code"] == "forbidden"
    other_type = client.get(url(fhir, "Encounter/kari-visit"), headers=bearer(reader))
    assert other_type.status_code == 403
    assert [e.outcome for e in events()] == ["denied", "denied"]


def test_a_patient_token_reads_its_patient_and_nobody_else(client, fhir, token):
    access = token("patient/Observation.rs patient/Patient.rs", patient="kari")
    own = client.get(url(fhir, "Patient/kari"), headers=bearer(access))
    assert own.status_code == 200
    other = client.get(url(fhir, "Patient/ola"), headers=bearer(access))
    assert other.status_code == 404  # not 403: no telling whether it exists
    others_data = client.get(url(fhir, "Observation/ola-pulse-1"), headers=bearer(access))
    assert others_data.status_code == 404


def test_a_patient_token_searches_only_its_compartment(client, fhir, token):
    access = token("patient/Observation.rs patient/Patient.rs", patient="kari")
    everyone = client.get(url(fhir, "Observation"), headers=bearer(access))
    assert sorted(ids(everyone)) == [
        "Observation/kari-hb",
        "Observation/kari-pulse-1",
        "Observation/kari-pulse-2",
    ]
    asked_for_other = client.get(url(fhir, "Observation?patient=ola"), headers=bearer(access))
    assert ids(asked_for_other) == []
    by_id = client.get(url(fhir, "Patient?_id=ola"), headers=bearer(access))
    assert ids(by_id) == []
    both = client.get(url(fhir, "Patient?_id=ola,kari"), headers=bearer(access))
    assert ids(both) == ["Patient/kari"]


def test_includes_never_reach_another_patient(client, fhir, token):
    access = token("patient/Observation.rs patient/Patient.rs", patient="kari")
    included = client.get(
        url(fhir, "Observation?_include=Observation:subject"), headers=bearer(access)
    )
    assert "Patient/kari" in ids(included)
    assert "Patient/ola" not in ids(included)
    revincluded = client.get(
        url(fhir, "Patient?_revinclude=Observation:subject"), headers=bearer(access)
    )
    assert "Observation/ola-pulse-1" not in ids(revincluded)
    assert "Observation/kari-pulse-1" in ids(revincluded)
    wide = token("user/Observation.rs user/Patient.rs")
    everything = client.get(
        url(fhir, "Patient?_revinclude=Observation:subject"), headers=bearer(wide)
    )
    assert "Observation/ola-pulse-1" in ids(everything)


def test_a_scope_query_limits_reads_and_searches(client, fhir, token):
    access = token("user/Observation.rs?category=vital-signs")
    assert client.get(url(fhir, "Observation/kari-hb"), headers=bearer(access)).status_code == 404
    assert (
        client.get(url(fhir, "Observation/kari-pulse-1"), headers=bearer(access)).status_code == 200
    )
    found = client.get(url(fhir, "Observation?patient=kari"), headers=bearer(access))
    assert sorted(ids(found)) == ["Observation/kari-pulse-1", "Observation/kari-pulse-2"]


# --- searching -------------------------------------------------------------------------------


def test_search_by_code_date_and_sort(client, fhir, token):
    access = token("user/Observation.rs")
    response = client.get(
        url(fhir, "Observation?code=http://loinc.org|8867-4&date=ge2026-10-02&_sort=-date"),
        headers=bearer(access),
    )
    assert ids(response) == ["Observation/kari-pulse-2", "Observation/ola-pulse-1"]
    assert response.get_json(force=True)["total"] == 2


def test_post_search_is_the_same_as_get(client, fhir, token):
    access = token("user/Observation.rs")
    response = client.post(
        url(fhir, "Observation/_search"),
        data={"patient": "kari", "code": "718-7"},
        headers=bearer(access),
    )
    assert ids(response) == ["Observation/kari-hb"]


def test_pages_follow_stable_next_links(client, fhir, token):
    access = token("user/Observation.rs")
    seen, link = [], url(fhir, "Observation?_count=2&_sort=date")
    while link:
        page = client.get(link, headers=bearer(access)).get_json(force=True)
        seen += [e["resource"]["id"] for e in page["entry"]]
        following = [x["url"] for x in page["link"] if x["relation"] == "next"]
        link = following[0].removeprefix("http://127.0.0.1:5000") if following else None
    assert seen == ["kari-pulse-1", "kari-hb", "ola-pulse-1", "kari-pulse-2"]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("Observation?colour=blue", "colour"),
        ("Observation?date=notadate", "date"),
        ("Observation?subject.name=kari", "subject.name"),
        ("Observation?_has:Observation:subject:code=1", "_has"),
        ("Observation?_count=-1", "_count"),
        ("Observation?code=%27%3B%20DROP%20TABLE%20fhir_resource%3B--", None),
    ],
)
def test_a_search_it_will_not_run_is_400_naming_the_parameter(client, fhir, token, query, named):
    access = token("user/Observation.rs")
    response = client.get(url(fhir, query), headers=bearer(access))
    if named is None:  # an injection attempt is just a code nothing has
        assert response.status_code == 200
        assert ids(response) == []
        return
    assert response.status_code == 400
    assert issues(response)[0]["expression"][0].startswith(named)
    assert events()[-1].outcome == "invalid"


def test_lenient_handling_ignores_unknown_parameters_and_says_so(client, fhir, token):
    access = token("user/Observation.rs")
    response = client.get(
        url(fhir, "Observation?colour=blue&patient=ola"),
        headers={**bearer(access), "Prefer": "handling=lenient"},
    )
    assert response.status_code == 200
    assert ids(response) == ["Observation/ola-pulse-1"]
    outcome = response.get_json(force=True)["entry"][-1]
    assert "colour" in outcome["resource"]["issue"][0]["diagnostics"]


def test_count_is_capped(client, fhir, token):
    access = token("user/Observation.rs")
    response = client.get(url(fhir, "Observation?_count=100000"), headers=bearer(access))
    assert response.status_code == 200
    assert len(ids(response)) == 4


@pytest.mark.parametrize("path", ["Medication/x", "Observation/not an id!", "patient/kari"])
def test_unknown_types_and_bad_ids_are_404(client, fhir, token, path):
    access = token("user/*.rs")
    response = client.get(url(fhir, path), headers=bearer(access))
    assert response.status_code == 404
    assert issues(response)[0]["code"] == "not-found"


# --- writing ---------------------------------------------------------------------------------


def test_create_update_vread_and_history(client, fhir, token):
    access = token("user/Observation.cruds")
    created = client.post(
        url(fhir, "Observation"),
        data=json.dumps(
            observation("ignored", "ola", "8867-4", 80, "2026-10-04T08:00:00Z", VITAL_SIGNS)
        ),
        headers={**bearer(access), "Content-Type": "application/fhir+json"},
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json(force=True)
    new_id = body["id"]
    assert new_id != "ignored"
    assert created.headers["Location"].endswith(f"/Observation/{new_id}/_history/1")
    changed = {**body, "valueQuantity": {"value": 82, "unit": "/min"}}
    updated = client.put(
        url(fhir, f"Observation/{new_id}"),
        data=json.dumps(changed),
        headers={**bearer(access), "Content-Type": "application/fhir+json", "If-Match": 'W/"1"'},
    )
    assert updated.status_code == 200
    assert updated.get_json(force=True)["meta"]["versionId"] == "2"
    stale = client.put(
        url(fhir, f"Observation/{new_id}"),
        data=json.dumps(changed),
        headers={**bearer(access), "Content-Type": "application/fhir+json", "If-Match": 'W/"1"'},
    )
    assert stale.status_code == 412
    first = client.get(url(fhir, f"Observation/{new_id}/_history/1"), headers=bearer(access))
    assert first.get_json(force=True)["valueQuantity"]["value"] == 80
    history = client.get(url(fhir, f"Observation/{new_id}/_history"), headers=bearer(access))
    assert [e["resource"]["meta"]["versionId"] for e in history.get_json(force=True)["entry"]] == [
        "2",
        "1",
    ]
    found = client.get(url(fhir, "Observation?value-quantity=82"), headers=bearer(access))
    assert found.status_code == 400  # not a supported parameter


@pytest.mark.parametrize(
    ("body", "element"),
    [
        ({"resourceType": "Observation", "status": "final"}, "Observation.code"),
        (patient("x", "A", "B", "notadate"), "Observation.resourceType"),
        (
            {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
             "valueQuantity": {"value": "many"}},
            "Observation.valueQuantity.value",
        ),
    ],
)  # fmt: skip
def test_invalid_fhir_is_422_naming_the_element_and_writes_nothing(
    client, fhir, token, body, element
):
    access = token("user/Observation.c")
    response = client.post(
        url(fhir, "Observation"),
        data=json.dumps(body),
        headers={**bearer(access), "Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 422
    assert issues(response)[0]["expression"] == [element]
    assert events()[-1].outcome == "invalid"
    assert stored_count(fhir) == 8  # nothing written


def test_a_patient_token_cannot_write_into_another_patients_record(client, fhir, token):
    access = token("patient/Observation.c", patient="kari")
    response = client.post(
        url(fhir, "Observation"),
        data=json.dumps(observation("x", "ola", "8867-4", 80, "2026-10-04T08:00:00Z", VITAL_SIGNS)),
        headers={**bearer(access), "Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 403
    wide = token("user/Observation.rs")
    found = client.get(url(fhir, "Observation?patient=ola"), headers=bearer(wide))
    assert ids(found) == ["Observation/ola-pulse-1"]


def test_a_body_too_large_or_not_json_is_refused(client, fhir, token):
    access = token("user/Observation.c")
    huge = client.post(
        url(fhir, "Observation"),
        data=b"{" + b" " * (20 * 1024 * 1024) + b"}",
        headers={**bearer(access), "Content-Type": "application/fhir+json"},
    )
    assert huge.status_code == 413
    assert (events()[-1].outcome, events()[-1].status) == ("invalid", 413)
    not_json = client.post(
        url(fhir, "Observation"),
        data="{",
        headers={**bearer(access), "Content-Type": "application/fhir+json"},
    )
    assert not_json.status_code == 400
    form = client.post(url(fhir, "Observation"), data={"a": "b"}, headers=bearer(access))
    assert form.status_code == 415


# --- live status -----------------------------------------------------------------------------


def test_a_disabled_app_is_refused_within_a_second(client, fhir, token, status_cache):
    from marketplace import enablements
    from marketplace.models import Enablement
    from tests.factories.marketplace import admin_of

    access = token("user/Patient.rs")
    assert client.get(url(fhir, "Patient/kari"), headers=bearer(access)).status_code == 200
    enablement = db.session.scalar(select(Enablement).where(Enablement.tenant_id == fhir.id))
    enablements.disable(
        enablement, exit_step="no_data_held", confirmed_by="Leverandøren", by=admin_of(fhir)
    )
    db.session.flush()
    # Within the second the status is trusted; after it, the database says no.
    assert client.get(url(fhir, "Patient/kari"), headers=bearer(access)).status_code == 200
    status_cache.now[0] += 1.01
    refused = client.get(url(fhir, "Patient/kari"), headers=bearer(access))
    assert refused.status_code == 401
    assert "revoked" in refused.headers["WWW-Authenticate"]


# --- the audit, never lost -------------------------------------------------------------------


def _break_the_audit() -> None:
    """Make every insert into the audit table fail, as a full disk or a lost table would."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            text(
                "CREATE TRIGGER audit_down BEFORE INSERT ON fhir_access_event "
                "BEGIN SELECT RAISE(ABORT, 'audit down'); END"
            )
        )
    else:
        db.session.execute(
            text(
                "CREATE FUNCTION audit_down() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'audit down'; END $$ LANGUAGE plpgsql"
            )
        )
        db.session.execute(
            text(
                "CREATE TRIGGER audit_down BEFORE INSERT ON fhir_access_event "
                "FOR EACH ROW EXECUTE FUNCTION audit_down()"
            )
        )
    db.session.flush()


def test_a_read_whose_audit_cannot_be_written_returns_no_data(client, fhir, token):
    access = token("user/Patient.rs user/Observation.cruds")
    _break_the_audit()
    read = client.get(url(fhir, "Patient/kari"), headers=bearer(access))
    assert read.status_code == 503
    assert "Nordmann" not in read.get_data(as_text=True)
    assert issues(read)[0]["code"] == "transient"
    created = client.post(
        url(fhir, "Observation"),
        data=json.dumps(observation("x", "ola", "8867-4", 80, "2026-10-04T08:00:00Z", VITAL_SIGNS)),
        headers={**bearer(access), "Content-Type": "application/fhir+json"},
    )
    assert created.status_code == 503
    assert stored_count(fhir) == 8  # the write went with its audit


INJECTIONS = ["' OR '1'='1", "x%' --", "\\", "kari) OR 1=1;--", "%", "_", "Patient/kari' --"]


@pytest.mark.parametrize("param", ["_id", "patient", "code", "category", "status", "identifier"])
@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_attempts_find_nothing_or_are_refused(client, fhir, token, param, value):
    access = token("user/Observation.rs")
    response = client.get(
        url(fhir, "Observation"), query_string={param: value}, headers=bearer(access)
    )
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert ids(response) == []


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    query=st.lists(
        st.tuples(
            st.sampled_from(
                ["_id", "patient", "date", "code", "_count", "_sort", "_include", "name",
                 "_lastUpdated", "subject:Patient", "code:not", "status", "x", "_page"]
            ),
            st.text(max_size=40),
        ),
        max_size=5,
    )
)  # fmt: skip
def test_no_search_input_is_a_server_error(client, fhir, token, query):
    access = token("patient/Observation.rs", patient="kari")
    response = client.get(url(fhir, "Observation"), query_string=query, headers=bearer(access))
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:500]
    if response.status_code == 200:
        assert all(i.startswith("Observation/kari") for i in ids(response))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
ELEMENTS = st.sampled_from(
    ["resourceType", "id", "meta", "subject", "status", "code", "valueQuantity", "category",
     "effectiveDateTime", "name", "birthDate", "identifier", "text", "encounter", "x"]
)  # fmt: skip
BODIES = st.one_of(
    JSON_VALUES,
    st.dictionaries(ELEMENTS, JSON_VALUES, max_size=8).map(
        lambda d: {"resourceType": "Observation", **d}
    ),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=BODIES, cut=st.booleans(), if_match=st.sampled_from([None, 'W/"1"', "1", "*", "x"]))
def test_no_body_to_write_is_a_server_error(client, fhir, token, body, cut, if_match):
    access = token("user/Observation.cruds user/Patient.cruds")
    data = json.dumps(body)[: -1 if cut else None]  # cut: JSON that does not parse
    headers = {**bearer(access), "Content-Type": "application/fhir+json"}
    if if_match is not None:
        headers["If-Match"] = if_match
    for method, path in [("POST", "Observation"), ("PUT", "Observation/kari-pulse-1")]:
        response = client.open(url(fhir, path), method=method, data=data, headers=headers)
        assert response.status_code < 500, response.get_data(as_text=True)[:500]


def test_browser_apps_get_cors_answers_and_preflights(client, fhir, token):
    preflight = client.options(
        url(fhir, "Patient/kari"),
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    read = client.get(url(fhir, "Patient/kari"), headers=bearer(token("user/Patient.r")))
    assert read.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in read.headers["Access-Control-Expose-Headers"]


def test_a_users_access_counts_them_active_and_names_them_in_the_audit(client, fhir, token):
    from marketplace.models import ActiveUser

    access = token("user/Patient.rs")  # no fhirUser scope: the audit still knows who
    assert client.get(url(fhir, "Patient/kari"), headers=bearer(access)).status_code == 200
    assert client.get(url(fhir, "Patient/ola"), headers=bearer(access)).status_code == 200
    first, second = events()
    assert second.fhir_user == first.fhir_user
    assert first.fhir_user is not None
    assert first.fhir_user.endswith("/Practitioner/hpr-1234567")
    counted = db.session.scalars(
        select(ActiveUser).where(
            ActiveUser.tenant_id == fhir.id, ActiveUser.application_id == first.application_id
        )
    ).all()
    assert len(counted) == 1  # one person, counted once this month
    backend = token("system/Patient.rs")
    assert client.get(url(fhir, "Patient/kari"), headers=bearer(backend)).status_code == 200
    assert events()[-1].fhir_user is None  # a backend service is nobody


def test_a_query_that_is_not_utf8_is_no_server_error(client, fhir, token):
    access = token("user/Observation.rs")
    # The raw query of the request line, as a WSGI server hands it over (latin-1).
    response = client.get(
        url(fhir, "Observation"),
        headers=bearer(access),
        environ_overrides={"QUERY_STRING": "code=\xff\xfe&name=%C3%28"},
    )
    assert response.status_code == 400  # refused by the shell, before any view reads it
    assert issues(response)[0]["code"] == "invalid"
