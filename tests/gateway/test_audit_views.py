"""The audit trail read back: the admin's page and CSV, and the operator's FHIR AuditEvent search.

Events are written straight into the table (the gateway's writing of them is
tested in test_api.py), at fixed instants, so times and dates do not move
with the clock.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import re
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import pytest
from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle
from flask import Flask
from sqlalchemy import func, select

from accounts.models import Role
from auth.urls import fhir_base
from catalog.models import ReleaseState
from gateway import audit_log
from gateway.audit_views import audit_event
from gateway.models import AccessEvent
from marketplace.models import Enablement, EnablementState, Tenant
from tests.conftest import bearer, csrf_token
from tests.conftest import sign_in_in_english as _sign_in
from tests.factories.accounts import MembershipFactory, UserFactory
from tests.factories.catalog import ApplicationFactory, ReleaseFactory
from tests.factories.marketplace import TenantFactory, admin_of, clinician_of
from torget.db import db

PAGE = "/m/bodo-audit/audit"
CSV = "/m/bodo-audit/audit.csv"
FHIR = "/fhir/bodo-audit/AuditEvent"


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _event(tenant: Tenant, application: Any, at: str, **fields: Any) -> AccessEvent:
    values: dict[str, Any] = {
        "client_id": f"client-{application.slug}" if application else None,
        "fhir_user": _lege(),
        "patient_id": "kari",
        "interaction": "read",
        "resource_type": "Observation",
        "resource_ids": ["Observation/kari-pulse-1"],
        "query": "",
        "outcome": "allowed",
        "status": 200,
        "ip": "10.0.0.7",
        **fields,
    }
    event = AccessEvent(
        tenant_id=tenant.id,
        application_id=application.id if application else None,
        at=_at(at),
        **values,
    )
    db.session.add(event)
    db.session.flush()
    return event


def _lege() -> str:
    """The fhirUser of the doctor who reads, as the authorization server writes it."""
    return f"{fhir_base('bodo-audit')}/Practitioner/lege-1"


def _text(response: Any) -> str:
    return unescape(response.get_data(as_text=True))


def _tbody(response: Any) -> str:
    page = _text(response)
    return page[page.index("<tbody>") : page.index("</tbody>")] if "<tbody>" in page else ""


@pytest.fixture
def bodo(db_session: None) -> dict[str, Any]:
    """Bodø: Alfa read Kari's pulse and searched Ola's observations; Beta was refused once;
    Gamma is enabled and unused. Bergen next door has an event of its own."""
    tenant = TenantFactory(organisation__slug="bodo-audit", organisation__name="Bodø kommune")
    bergen = TenantFactory(organisation__slug="bergen-audit")
    alfa = ApplicationFactory(slug="alfa-audit", name="Alfa")
    beta = ApplicationFactory(slug="beta-audit", name="Beta")
    gamma = ApplicationFactory(slug="gamma-audit", name="Gamma")
    db.session.add(
        Enablement(
            tenant=tenant,
            application=gamma,
            release=ReleaseFactory(application=gamma, state=ReleaseState.CERTIFIED),
            state=EnablementState.ACTIVE,
            approved_scopes="launch patient/Observation.rs",
            roles=["clinician"],
        )
    )
    # 12:00 UTC is 13:00 in Oslo (winter time).
    read = _event(tenant, alfa, "2025-03-10T12:00:00")
    searched = _event(
        tenant,
        alfa,
        "2025-03-12T08:30:00",
        patient_id="ola",
        interaction="search",
        resource_ids=[f"Observation/ola-{n}" for n in range(5)],
        query="patient=ola&category=vital-signs",
    )
    # 23:30 UTC on the 9th is already 10 March in Oslo.
    refused = _event(
        tenant,
        beta,
        "2025-03-09T23:30:00",
        outcome="denied",
        status=403,
        detail="The granted scopes do not allow this.",
        resource_ids=[],
    )
    elsewhere = _event(
        bergen, alfa, "2025-03-11T10:00:00", patient_id="bergen-pasient", fhir_user=None
    )
    return {
        "tenant": tenant,
        "bergen": bergen,
        "alfa": alfa,
        "beta": beta,
        "read": read,
        "searched": searched,
        "refused": refused,
        "elsewhere": elsewhere,
    }


# --- the page ----------------------------------------------------------------------------------


def test_the_admin_sees_the_municipalitys_events_newest_first(client, bodo) -> None:
    _sign_in(client, admin_of(bodo["tenant"]))
    response = client.get(PAGE)
    assert response.status_code == 200
    page = _text(response)
    assert "<h1>Audit of data access</h1>" in page
    assert ">3 events</h2>" in page
    rows = re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', _tbody(response))
    assert [iso for iso, _shown in rows] == [
        "2025-03-12T08:30:00+00:00",
        "2025-03-10T12:00:00+00:00",
        "2025-03-09T23:30:00+00:00",
    ]
    # Shown in Norwegian time: 12:00 UTC is 1:00 PM in Oslo; 23:30 UTC the next day.
    assert rows[1][1] == "3/10/25, 1:00\u202fPM"
    assert rows[2][1] == "3/10/25, 12:30\u202fAM"
    # Who, for whom, what.
    assert "<code>Practitioner/lege-1</code>" in page
    assert 'Denied<span class="muted">: The granted scopes do not allow this.</span>' in page
    assert "<td>403</td>" in page
    # Bergen's event never shows in Bodø.
    assert "bergen-pasient" not in page


def test_the_app_filter_offers_apps_with_events_or_enabled_here(client, bodo) -> None:
    ApplicationFactory(slug="delta-audit", name="Delta")  # neither: not offered
    _sign_in(client, admin_of(bodo["tenant"]))
    page = _text(client.get(PAGE))
    select_box = page[page.index('<select id="app"') : page.index("</select>")]
    assert re.findall(r'<option value="([^"]*)"', select_box) == [
        "",
        "alfa-audit",
        "beta-audit",
        "gamma-audit",
    ]


def test_app_names_and_patients_link_to_the_page_filtered_by_them(client, bodo) -> None:
    _sign_in(client, admin_of(bodo["tenant"]))
    body = _tbody(client.get(PAGE, query_string={"outcome": "allowed"}))
    assert '<a href="/m/bodo-audit/audit?app=alfa-audit&outcome=allowed">Alfa</a>' in body
    assert '<a href="/m/bodo-audit/audit?patient=ola&outcome=allowed">ola</a>' in body


def test_returned_ids_are_shortened_with_a_count(client, bodo) -> None:
    _sign_in(client, admin_of(bodo["tenant"]))
    body = _tbody(client.get(PAGE, query_string={"patient": "ola"}))
    assert "5 resources:" in body
    assert "<code>Observation/ola-2</code> and 2 more" in body
    assert "Observation/ola-3" not in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"app": "alfa-audit"}, ["2025-03-12T08:30", "2025-03-10T12:00"]),
        ({"app": "gamma-audit"}, []),
        ({"patient": "kari"}, ["2025-03-10T12:00", "2025-03-09T23:30"]),
        ({"patient": "Patient/ola"}, ["2025-03-12T08:30"]),
        ({"outcome": "denied"}, ["2025-03-09T23:30"]),
        ({"outcome": "invalid"}, []),
        # Dates are days in Oslo: 23:30 UTC on the 9th belongs to the 10th.
        ({"from": "2025-03-10", "to": "2025-03-10"}, ["2025-03-10T12:00", "2025-03-09T23:30"]),
        ({"to": "2025-03-09"}, []),
        ({"from": "2025-03-11"}, ["2025-03-12T08:30"]),
        ({"app": "alfa-audit", "patient": "kari", "from": "2025-03-01"}, ["2025-03-10T12:00"]),
    ],
)
def test_each_filter_narrows_the_events(client, bodo, query, expected) -> None:
    _sign_in(client, admin_of(bodo["tenant"]))
    response = client.get(PAGE, query_string=query)
    assert response.status_code == 200
    shown = re.findall(r'<time datetime="([^"]{16})', _tbody(response))
    assert shown == expected
    if not expected:
        assert "No event matches the filters." in _text(response)


def test_the_form_keeps_the_filters_and_the_csv_link_carries_them(client, bodo) -> None:
    _sign_in(client, admin_of(bodo["tenant"]))
    page = _text(
        client.get(
            PAGE, query_string={"app": "alfa-audit", "patient": "kari", "from": "2025-03-01"}
        )
    )
    assert '<option value="alfa-audit" selected>Alfa</option>' in page
    assert 'id="patient" name="patient" type="text" maxlength="80" value="kari"' in page
    assert 'id="from" name="from" type="date" value="2025-03-01"' in page
    assert 'href="/m/bodo-audit/audit.csv?app=alfa-audit&patient=kari&from=2025-03-01"' in page


def test_the_events_are_paged_and_the_links_keep_the_filters(client, bodo) -> None:
    start = _at("2025-04-01T00:00:00")
    for n in range(120):
        db.session.add(
            AccessEvent(
                tenant_id=bodo["tenant"].id,
                application_id=bodo["alfa"].id,
                at=start + dt.timedelta(minutes=n),
                patient_id="kari",
                interaction="read",
                resource_type="Observation",
                resource_ids=[],
                outcome="allowed",
                status=200,
            )
        )
    db.session.flush()
    _sign_in(client, admin_of(bodo["tenant"]))
    first = client.get(PAGE, query_string={"from": "2025-04-01"})
    assert ">120 events</h2>" in _text(first)
    assert len(re.findall("<time ", _tbody(first))) == 50
    assert "Page 1 of 3" in _text(first)
    assert 'rel="next" href="/m/bodo-audit/audit?from=2025-04-01&page=2"' in _text(first)
    last = client.get(PAGE, query_string={"from": "2025-04-01", "page": 3})
    times = re.findall(r'<time datetime="([^"]+)"', _tbody(last))
    assert len(times) == 20
    assert times[-1] == "2025-04-01T00:00:00+00:00"  # the oldest, at the end of the last page
    assert 'rel="prev" href="/m/bodo-audit/audit?from=2025-04-01&page=2"' in _text(last)
    assert 'rel="next"' not in _text(last)
    beyond = client.get(PAGE, query_string={"from": "2025-04-01", "page": 9})
    assert "There is no page 9: the results end on page 3." in _text(beyond)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "2025-13-01"}, "Enter a date like 2026-03-01 (year-month-day)."),
        ({"to": "10.03.2025"}, "Enter a date like 2026-03-01 (year-month-day)."),
        (
            {"from": "2025-03-12", "to": "2025-03-10"},
            "The end date cannot be before the start date.",
        ),
        ({"outcome": "maybe"}, "The outcome is one of: allowed, denied, invalid."),
        ({"patient": "kari nordmann"}, "A patient id is 1 to 64 letters, digits, - and ., like"),
        ({"app": "no-such-app"}, "No app is called no-such-app."),
        ({"page": "0"}, "A page is a whole number from 1."),
        ({"page": "x" * 40}, "A page is a whole number from 1."),
    ],
)
def test_a_bad_filter_is_a_422_page_with_the_message(client, bodo, query, message) -> None:
    _sign_in(client, admin_of(bodo["tenant"]))
    response = client.get(PAGE, query_string=query)
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    page = _text(response)
    assert message in page
    assert 'aria-invalid="true"' in page or "page" in query
    assert "<tbody>" not in page  # no events beside a refused filter


def test_every_bad_filter_is_told_at_once_beside_its_field(client, bodo) -> None:
    _sign_in(client, admin_of(bodo["tenant"]))
    response = client.get(PAGE, query_string={"from": "x", "outcome": "zz", "patient": "a b"})
    assert response.status_code == 422
    page = _text(response)
    for name in ("from", "outcome", "patient"):
        assert f'aria-describedby="{name}-error" aria-invalid="true"' in page
    assert '<p class="error" id="outcome-error">The outcome is one of:' in page
    assert 'id="from" name="from" type="date" value="x"' in page  # kept, to correct


def test_the_page_is_read_only(client, bodo) -> None:
    _sign_in(client, admin_of(bodo["tenant"]))
    token = csrf_token(client, "/m/")
    assert client.post(PAGE, data={"csrf_token": token}).status_code == 405


# --- who may see it --------------------------------------------------------------------------


@pytest.mark.parametrize("path", [PAGE, CSV])
@pytest.mark.parametrize("who", ["clinician", "bergen admin", "operator", "nobody in particular"])
def test_nobody_but_the_municipalitys_admins_reads_its_audit(client, bodo, path, who) -> None:
    stranger = {
        "clinician": lambda: clinician_of(bodo["tenant"]),
        "bergen admin": lambda: admin_of(bodo["bergen"]),
        "operator": lambda: MembershipFactory(role=Role.OPERATOR).user,
        "nobody in particular": UserFactory,
    }[who]()
    _sign_in(client, stranger)
    response = client.get(path)
    assert response.status_code == 403
    assert "kari" not in _text(response)


@pytest.mark.parametrize("path", [PAGE, CSV])
def test_a_visitor_is_sent_to_sign_in(client, bodo, path) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


# --- the CSV -----------------------------------------------------------------------------------


def _csv(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_csv_has_a_row_per_event_with_stable_columns(client, bodo) -> None:
    _sign_in(client, admin_of(bodo["tenant"]))
    response = client.get(CSV)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(
        r'attachment; filename="torget-audit-bodo-audit-\d{4}-\d{2}-\d{2}\.csv"', disposition
    )
    header, *rows = _csv(response)
    assert header == [
        "at",
        "app_slug",
        "app_name",
        "client_id",
        "fhir_user",
        "patient",
        "interaction",
        "resource_type",
        "resource_count",
        "resource_ids",
        "outcome",
        "status",
        "detail",
        "query",
    ]
    assert [row[0] for row in rows] == [
        "2025-03-12T09:30:00+01:00",
        "2025-03-10T13:00:00+01:00",
        "2025-03-10T00:30:00+01:00",
    ]
    searched = dict(zip(header, rows[0], strict=True))
    assert searched == {
        "at": "2025-03-12T09:30:00+01:00",
        "app_slug": "alfa-audit",
        "app_name": "Alfa",
        "client_id": "client-alfa-audit",
        "fhir_user": _lege(),
        "patient": "ola",
        "interaction": "search",
        "resource_type": "Observation",
        "resource_count": "5",
        "resource_ids": " ".join(f"Observation/ola-{n}" for n in range(5)),
        "outcome": "allowed",
        "status": "200",
        "detail": "",
        "query": "patient=ola&category=vital-signs",
    }
    assert "bergen-pasient" not in response.get_data(as_text=True)


def test_the_csv_takes_the_pages_filters(client, bodo) -> None:
    _sign_in(client, admin_of(bodo["tenant"]))
    _header, *rows = _csv(client.get(CSV, query_string={"outcome": "denied"}))
    assert [(row[1], row[10], row[11]) for row in rows] == [("beta-audit", "denied", "403")]


def test_the_csv_refuses_a_bad_filter_with_a_422_page(client, bodo) -> None:
    _sign_in(client, admin_of(bodo["tenant"]))
    response = client.get(CSV, query_string={"from": "yesterday"})
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert "Enter a date like 2026-03-01 (year-month-day)." in _text(response)


@pytest.mark.parametrize("text", ['=HYPERLINK("https://evil.example")', "+47", "-1", "@SUM(A1)"])
def test_the_csv_never_starts_a_cell_with_a_formula(client, bodo, text) -> None:
    _event(
        bodo["tenant"],
        ApplicationFactory(slug="formel-audit", name=text),
        "2025-05-01T10:00:00",
        fhir_user=text,
        detail=text,
        query=text,
    )
    _sign_in(client, admin_of(bodo["tenant"]))
    header, *rows = _csv(client.get(CSV, query_string={"app": "formel-audit"}))
    row = dict(zip(header, rows[0], strict=True))
    for column in ("app_name", "fhir_user", "detail", "query"):
        assert row[column] == "'" + text


def test_the_csv_holds_at_most_its_limit(bodo, english) -> None:
    rows = list(audit_log.rows_for_csv(bodo["tenant"], limit=2))
    assert [row.event.id for row in rows] == [bodo["searched"].id, bodo["read"].id]


# --- the operator's FHIR AuditEvent search ---------------------------------------------------


@pytest.fixture
def operator(bodo) -> dict[str, str]:
    return bearer(MembershipFactory(role=Role.OPERATOR).user)


def _bundle(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/fhir+json"
    body = response.get_json()
    Bundle.model_validate(body)
    for entry in body["entry"]:
        AuditEvent.model_validate(entry["resource"])
    return body


def test_an_operator_reads_the_audit_as_a_bundle_of_audit_events(client, bodo, operator) -> None:
    body = _bundle(client.get(FHIR, headers=operator))
    assert body["type"] == "searchset"
    assert body["total"] == 3
    ids = [entry["resource"]["id"] for entry in body["entry"]]
    assert ids == [str(bodo[name].id) for name in ("searched", "read", "refused")]
    assert str(bodo["elsewhere"].id) not in ids  # Bergen's, never in Bodø's audit
    searched = body["entry"][0]["resource"]
    assert searched["type"] == {
        "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
        "code": "rest",
        "display": "RESTful Operation",
    }
    assert searched["subtype"] == [{"system": "http://hl7.org/fhir/restful-interaction",
                                    "code": "search"}]  # fmt: skip
    assert searched["action"] == "E"
    assert searched["recorded"] == "2025-03-12T08:30:00.000+00:00"
    assert searched["outcome"] == "0"
    (agent,) = searched["agent"]
    assert agent["requestor"] is True
    assert agent["who"]["reference"] == _lege()
    assert agent["who"]["identifier"]["value"] == "client-alfa-audit"
    assert agent["who"]["display"] == "Alfa"
    assert searched["source"]["observer"] == {"display": "Torget"}
    patient, *returned, query = searched["entity"]
    assert patient["what"] == {"reference": "Patient/ola"}
    assert patient["role"]["code"] == "1"
    assert [e["what"]["reference"] for e in returned] == [f"Observation/ola-{n}" for n in range(5)]
    assert base64.b64decode(query["query"]).decode() == "patient=ola&category=vital-signs"
    refused = body["entry"][2]["resource"]
    assert refused["outcome"] == "4"
    assert refused["outcomeDesc"] == "The granted scopes do not allow this."


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"patient": "kari"}, ["read", "refused"]),
        ({"patient": "Patient/ola"}, ["searched"]),
        ({"date": "ge2025-03-10"}, ["searched", "read"]),
        ({"date": "le2025-03-10"}, ["read", "refused"]),
        ({"date": "2025-03-10"}, ["read"]),
        ({"date": ["ge2025-03-10T00:00:00Z", "le2025-03-11"]}, ["read"]),
        ({"date": "ge2025-03-10T13:00:00+01:00"}, ["searched", "read"]),
        ({"_count": "1"}, ["searched"]),
    ],
)
def test_the_operators_search_filters(client, bodo, operator, query, expected) -> None:
    body = _bundle(client.get(FHIR, headers=operator, query_string=query))
    assert [e["resource"]["id"] for e in body["entry"]] == [str(bodo[n].id) for n in expected]


def test_a_time_zones_unescaped_plus_is_read_as_a_plus(client, bodo, operator) -> None:
    response = client.get(f"{FHIR}?date=ge2025-03-10T13:00:01+01:00", headers=operator)
    assert [e["resource"]["id"] for e in _bundle(response)["entry"]] == [str(bodo["searched"].id)]


def test_the_operators_search_pages_with_a_next_link(client, bodo, operator) -> None:
    first = _bundle(client.get(FHIR, headers=operator, query_string={"_count": "2"}))
    assert first["total"] == 3
    assert len(first["entry"]) == 2
    (following,) = [link["url"] for link in first["link"] if link["relation"] == "next"]
    assert following.endswith("/fhir/bodo-audit/AuditEvent?_count=2&_page=2")
    second = _bundle(client.get(following.split("localhost", 1)[-1], headers=operator))
    assert [e["resource"]["id"] for e in second["entry"]] == [str(bodo["refused"].id)]
    assert [link["relation"] for link in second["link"]] == ["self"]


def test_count_is_capped_at_a_hundred(client, bodo, operator) -> None:
    start = _at("2025-06-01T00:00:00")
    for n in range(105):
        _event(bodo["tenant"], bodo["alfa"], (start + dt.timedelta(seconds=n)).isoformat()[:19])
    body = _bundle(client.get(FHIR, headers=operator, query_string={"_count": "500"}))
    assert body["total"] == 108
    assert len(body["entry"]) == 100


def test_the_audit_route_wins_over_the_gateways_resource_route(app: Flask) -> None:
    adapter = app.url_map.bind("torget.example")
    assert adapter.match("/fhir/bodo-audit/AuditEvent")[0] == "audit.audit_events"
    assert adapter.match("/fhir/bodo-audit/Observation")[0] == "fhir.search"


def test_reading_the_audit_records_no_access_event(client, bodo, operator) -> None:
    before = db.session.scalar(select(func.count(AccessEvent.id)))
    _bundle(client.get(FHIR, headers=operator))
    assert db.session.scalar(select(func.count(AccessEvent.id))) == before


def _outcome(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/fhir+json"
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    return body


def test_no_token_is_a_401_with_a_bearer_challenge(client, bodo) -> None:
    body = _outcome(client.get(FHIR), 401)
    assert client.get(FHIR).headers["WWW-Authenticate"].startswith("Bearer")
    assert body["issue"][0]["code"] == "login"


def test_an_unknown_token_is_a_401(client, bodo) -> None:
    response = client.get(FHIR, headers={"Authorization": "Bearer torget_pat_not-a-real-one"})
    _outcome(response, 401)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("who", ["clinician", "admin"])
def test_anyone_but_an_operator_is_refused_with_a_403(client, bodo, who) -> None:
    user = clinician_of(bodo["tenant"]) if who == "clinician" else admin_of(bodo["tenant"])
    body = _outcome(client.get(FHIR, headers=bearer(user)), 403)
    assert body["issue"][0]["code"] == "forbidden"
    assert "kari" not in str(body)


def test_an_unknown_municipality_is_a_404_outcome(client, bodo, operator) -> None:
    _outcome(client.get("/fhir/no-such-town/AuditEvent", headers=operator), 404)


@pytest.mark.parametrize(
    ("query", "param", "told"),
    [
        ({"subtype": "read"}, "subtype", "subtype is not a search parameter of AuditEvent"),
        ({"_sort": "date"}, "_sort", "use date, patient or _count"),
        ({"date": "gt2025-03-10"}, "date", "The prefix gt is not supported on date"),
        ({"date": "yesterday"}, "date", "yesterday is not a date for date"),
        ({"date": "2025-03-10T10:00"}, "date", "with a time zone"),  # a time needs a zone
        ({"patient": "kari nordmann"}, "patient", "patient is a Patient id"),
        ({"patient": ["kari", "ola"]}, "patient", "Give patient once."),
        ({"_count": "many"}, "_count", "_count is a whole number from 0."),
        ({"_page": "0"}, "_page", "_page is a whole number from 1."),
    ],
)
def test_a_bad_search_parameter_is_a_400_naming_it(
    client, bodo, operator, query, param, told
) -> None:
    body = _outcome(client.get(FHIR, headers=operator, query_string=query), 400)
    (problem,) = body["issue"]
    assert problem["code"] == "invalid"
    assert problem["expression"] == [param]
    assert told in problem["diagnostics"]


@pytest.mark.parametrize(
    ("outcome", "status", "code"),
    [("allowed", 200, "0"), ("allowed", 201, "0"), ("denied", 401, "4"), ("invalid", 422, "4"),
     ("invalid", 503, "8")],
)  # fmt: skip
def test_an_events_outcome_maps_to_the_audit_event_outcome(outcome, status, code) -> None:
    event = AccessEvent(
        id=7,
        tenant_id=1,
        at=_at("2025-03-10T12:00:00"),
        interaction="read",
        resource_ids=[],
        query="",
        outcome=outcome,
        status=status,
        detail="",
    )
    resource = audit_event(audit_log.AuditRow(event, None, None), "https://torget.example")
    AuditEvent.model_validate(resource)
    assert resource["outcome"] == code
    # No client, no user: an anonymous request still names its requestor as unknown.
    assert resource["agent"] == [{"requestor": True}]
    assert "entity" not in resource


def test_an_operator_reads_one_audit_event_by_the_id_of_its_full_url(client, bodo, operator):
    body = _bundle(client.get(FHIR, headers=operator))
    entry = body["entry"][0]
    path = urlsplit(entry["fullUrl"]).path
    one = client.get(path, headers=operator)
    assert one.status_code == 200
    AuditEvent.model_validate(one.get_json())
    assert one.get_json() == entry["resource"]
    elsewhere = f"{FHIR}/{bodo['elsewhere'].id}"  # Bergen's event, asked of Bodø
    _outcome(client.get(elsewhere, headers=operator), 404)
    _outcome(client.get(f"{FHIR}/not-a-number", headers=operator), 404)
    _outcome(client.get(path), 401)
