"""The enablements JSON API: enable, change, re-consent, disable, and bad input named one by one.

Every refused write is checked against the database: a 4xx leaves no row changed.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from accounts.models import OrganisationKind, Role
from catalog import credentials, releases
from catalog.models import Environment, Release, ReleaseState
from marketplace import enablements, terms
from marketplace.models import Enablement, EnablementEvent, TermsAcceptance
from tests.conftest import bearer as _bearer
from tests.factories.accounts import MembershipFactory, OrganisationFactory
from tests.factories.catalog import ReleaseFactory, reviewer
from tests.factories.marketplace import TenantFactory, admin_of, clinician_of
from torget.db import db

PROBLEM = "application/problem+json"
S = ReleaseState
REGISTERED = "launch openid fhirUser patient/Observation.rs patient/Patient.r"
SUBSET = ["launch", "patient/Observation.rs"]
LIST = "/api/v1/tenants/oslo/enablements"
ITEM = f"{LIST}/news2-test"


def _snapshot() -> list[tuple[str, ...]]:
    """Every enablement, event and acceptance as stored now, for before/after comparisons."""
    db.session.expire_all()
    rows = []
    for model in (Enablement, EnablementEvent, TermsAcceptance):
        columns = sa.inspect(model).columns
        rows += sorted(
            (model.__name__, *(str(getattr(row, c.key)) for c in columns))
            for row in db.session.scalars(sa.select(model))
        )
    return rows


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert response.json["status"] == status
    return response.json


def _pointers(problem: dict) -> set[str]:
    return {error["pointer"] for error in problem.get("errors", [])}


def _enable_body(**fields: object) -> dict[str, object]:
    return {
        "app": "news2-test",
        "scopes": SUBSET,
        "roles": ["clinician"],
        "terms_version": terms.VERSION,
        **fields,
    }


def _client_id(release: Release) -> str:
    return credentials.find_client(release.application, Environment.PRODUCTION).client_id


def _decision(release: Release) -> enablements.LaunchDecision:
    """What the authorization server hears now for Oslo and the app's production client."""
    db.session.expire_all()  # the API wrote through a session of its own
    return enablements.launch_policy(_client_id(release), "oslo")


@pytest.fixture
def oslo(db_session):
    tenant = TenantFactory(organisation__slug="oslo", organisation__name="Oslo kommune")
    return tenant, admin_of(tenant)


@pytest.fixture
def headers(oslo) -> dict[str, str]:
    return _bearer(oslo[1])


@pytest.fixture
def certified(db_session) -> Release:
    release = ReleaseFactory(
        state=S.CERTIFIED,
        version="1.0.0",
        scopes=REGISTERED,
        application__slug="news2-test",
        application__name="NEWS2 Test",
    )
    credentials.ensure_client(release.application, Environment.PRODUCTION)
    return release


@pytest.fixture
def enabled(client, headers, certified) -> str:
    """NEWS2 Test enabled for Oslo through the API; its ETag."""
    created = client.post(LIST, json=_enable_body(), headers=headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    return created.headers["ETag"]


def _newer(release: Release, version: str, scopes: str) -> Release:
    newer = ReleaseFactory(
        application=release.application, version=version, state=S.IN_REVIEW, scopes=scopes
    )
    releases.certify(newer, by=reviewer())
    db.session.flush()  # the API reads through a session of its own
    return newer


# --- the happy paths -------------------------------------------------------------------


def test_an_admin_enables_changes_and_reads_the_history(client, oslo, headers, certified) -> None:
    created = client.post(LIST, json=_enable_body(), headers=headers)

    assert created.status_code == 201
    assert created.headers["ETag"] == '"1"'
    body = created.json
    assert (body["tenant"], body["app"], body["app_name"], body["state"]) == (
        "oslo",
        "news2-test",
        "NEWS2 Test",
        "active",
    )
    assert body["release"] == {"version": "1.0.0", "state": "certified"}
    assert body["scopes"] == SUBSET
    assert [item["scope"] for item in body["scopes_explained"]] == SUBSET
    assert all(item["meaning"] for item in body["scopes_explained"])
    assert (body["roles"], body["stopped"], body["newer_release"]) == (["clinician"], False, None)

    listed = client.get(LIST, headers=headers)
    assert listed.status_code == 200
    assert [e["app"] for e in listed.json] == ["news2-test"]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 1

    seen = client.get(ITEM, headers=headers)
    assert seen.headers["ETag"] == created.headers["ETag"]
    changed = client.patch(
        ITEM,
        json={"scopes": ["launch", "patient/Patient.r"]},
        headers={**headers, "If-Match": seen.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.headers["ETag"] != seen.headers["ETag"]
    assert (changed.json["scopes"], changed.json["roles"]) == (
        ["launch", "patient/Patient.r"],
        ["clinician"],  # left out: stays as it was
    )

    history = client.get(f"{ITEM}/history", headers=headers)
    assert history.status_code == 200
    assert [(e["kind"], e["scopes"], e["actor"]) for e in history.json] == [
        ("enabled", SUBSET, oslo[1].display_name),
        ("scopes_changed", ["launch", "patient/Patient.r"], oslo[1].display_name),
    ]
    decision = _decision(certified)
    assert decision.scopes == ["launch", "patient/Patient.r"]
    (accepted,) = db.session.scalars(sa.select(TermsAcceptance)).all()
    assert (accepted.terms_version, accepted.accepted_by_id) == (terms.VERSION, oslo[1].id)


def test_the_history_and_the_list_paginate(client, oslo, headers, enabled) -> None:
    etag = enabled
    for scopes in (["launch"], SUBSET, ["launch"]):
        answer = client.patch(ITEM, json={"scopes": scopes}, headers={**headers, "If-Match": etag})
        etag = answer.headers["ETag"]

    page = client.get(f"{ITEM}/history?page=2&page_size=3", headers=headers)

    assert page.status_code == 200
    assert [e["kind"] for e in page.json] == ["scopes_changed"]
    assert json.loads(page.headers["X-Pagination"])["total"] == 4
    _problem(client.get(f"{LIST}?page_size=1000", headers=headers), 422)


def test_disabling_records_the_exit_step_and_stops_launches(
    client, headers, certified, enabled
) -> None:
    assert _decision(certified).allowed

    disabled = client.post(
        f"{ITEM}/disable",
        json={"exit_step": "data_deleted", "confirmed_by": "Kari, Nordlys Helse", "note": "OK"},
        headers={**headers, "If-Match": enabled},
    )

    assert disabled.status_code == 200, disabled.get_data(as_text=True)
    assert disabled.json["state"] == "disabled"
    last = client.get(f"{ITEM}/history", headers=headers).json[-1]
    assert (last["kind"], last["exit_step"], last["exit_confirmed_by"], last["note"]) == (
        "disabled",
        "data_deleted",
        "Kari, Nordlys Helse",
        "OK",
    )
    decision = _decision(certified)
    assert not decision.allowed
    # Disabled twice, or changed after: a conflict, nothing written.
    before = _snapshot()
    again = {**headers, "If-Match": disabled.headers["ETag"]}
    _problem(
        client.post(
            f"{ITEM}/disable",
            json={"exit_step": "data_deleted", "confirmed_by": "X"},
            headers=again,
        ),
        409,
    )
    _problem(client.patch(ITEM, json={"scopes": ["launch"]}, headers=again), 409)
    assert client.get(f"{ITEM}/pending", headers=headers).json["newer"] is None
    assert _snapshot() == before
    # Enabled again: the same row opens with the new approval.
    reopened = client.post(LIST, json=_enable_body(scopes=["launch"]), headers=headers)
    assert reopened.status_code == 201
    assert (reopened.json["state"], reopened.json["scopes"]) == ("active", ["launch"])


def test_a_release_that_asks_for_nothing_more_moves_without_scopes(
    client, headers, certified, enabled
) -> None:
    _newer(certified, "1.0.1", "launch openid patient/Observation.rs")

    pending = client.get(f"{ITEM}/pending", headers=headers)

    assert pending.status_code == 200
    assert pending.json["current"] == "1.0.0"
    assert pending.json["newer"] == "1.0.1"
    assert (pending.json["widening"], pending.json["dropped"], pending.json["one_click"]) == (
        [],
        [],
        True,
    )
    assert pending.json["diff"]["removed"] == ["fhirUser", "patient/Patient.r"]
    assert client.get(ITEM, headers=headers).json["newer_release"] == "1.0.1"
    moved = client.post(
        f"{ITEM}/move", json={"version": "1.0.1"}, headers={**headers, "If-Match": enabled}
    )
    assert moved.status_code == 200, moved.get_data(as_text=True)
    assert (moved.json["release"]["version"], moved.json["scopes"]) == ("1.0.1", SUBSET)
    assert _decision(certified).release.version == "1.0.1"


def test_a_wider_release_moves_only_with_explicit_approval(
    client, headers, certified, enabled
) -> None:
    _newer(certified, "1.1.0", REGISTERED + " patient/Condition.rs")
    pending = client.get(f"{ITEM}/pending", headers=headers).json
    assert (pending["widening"], pending["one_click"]) == (["patient/Condition.rs"], False)
    assert pending["diff"]["added"] == ["patient/Condition.rs"]
    before = _snapshot()
    if_match = {**headers, "If-Match": enabled}

    one_click = client.post(f"{ITEM}/move", json={"version": "1.1.0"}, headers=if_match)
    beyond = client.post(
        f"{ITEM}/move",
        json={"version": "1.1.0", "scopes": ["launch", "patient/MedicationRequest.rs"]},
        headers=if_match,
    )
    backwards = client.post(
        f"{ITEM}/move", json={"version": "1.0.0", "scopes": ["launch"]}, headers=if_match
    )
    unknown = client.post(f"{ITEM}/move", json={"version": "9.9.9"}, headers=if_match)

    _problem(one_click, 409)
    assert _pointers(_problem(beyond, 422)) == {"#/scopes"}
    _problem(backwards, 409)
    _problem(unknown, 404)
    assert _snapshot() == before
    # Until approved, the tenant stays on 1.0.0, which keeps working.
    decision = _decision(certified)
    assert (decision.allowed, decision.release.version) == (True, "1.0.0")

    approved = client.post(
        f"{ITEM}/move",
        json={"version": "1.1.0", "scopes": [*SUBSET, "patient/Condition.rs"]},
        headers=if_match,
    )

    assert approved.status_code == 200, approved.get_data(as_text=True)
    assert approved.json["release"]["version"] == "1.1.0"
    decision = _decision(certified)
    assert decision.release.version == "1.1.0"
    assert "patient/Condition.rs" in decision.scopes
    assert client.get(f"{ITEM}/pending", headers=headers).json["newer"] is None


# --- who may ------------------------------------------------------------------------------


def _every_call(client, headers: dict[str, str]) -> list:
    if_match = {**headers, "If-Match": "*"}
    return [
        client.get(LIST, headers=headers),
        client.post(LIST, json=_enable_body(scopes=["launch"]), headers=headers),
        client.get(ITEM, headers=headers),
        client.patch(ITEM, json={"scopes": ["launch"]}, headers=if_match),
        client.post(f"{ITEM}/move", json={"version": "1.0.0"}, headers=if_match),
        client.post(
            f"{ITEM}/disable",
            json={"exit_step": "data_deleted", "confirmed_by": "X"},
            headers=if_match,
        ),
        client.get(f"{ITEM}/history", headers=headers),
        client.get(f"{ITEM}/pending", headers=headers),
    ]


def test_an_admin_of_bergen_gets_403_on_oslo_and_nothing_changes(
    client, oslo, certified, enabled
) -> None:
    bergen = TenantFactory(organisation__slug="bergen")
    before = _snapshot()

    answers = _every_call(client, _bearer(admin_of(bergen)))

    for answer in answers:
        _problem(answer, 403)
    assert _snapshot() == before


def test_a_clinician_gets_403_and_a_stranger_401(client, oslo, certified, enabled) -> None:
    before = _snapshot()

    for answer in _every_call(client, _bearer(clinician_of(oslo[0]))):
        _problem(answer, 403)
    # Without a token (or a session) nobody reads a municipality's enablements.
    for path in (LIST, ITEM, f"{ITEM}/history", f"{ITEM}/pending"):
        _problem(client.get(path), 401)
    assert _snapshot() == before


def test_unknown_apps_and_municipalities_are_404(client, oslo, headers, certified) -> None:
    _problem(client.get(ITEM, headers=headers), 404)  # not enabled here
    _problem(client.get(f"{LIST}/no-such-app/history", headers=headers), 404)
    organisation = OrganisationFactory(slug="ikke-kommune", kind=OrganisationKind.MUNICIPALITY)
    MembershipFactory(user=oslo[1], role=Role.MUNICIPAL_ADMIN, organisation=organisation)
    _problem(client.get("/api/v1/tenants/ikke-kommune/enablements", headers=headers), 404)
    # A slug no organisation has: the role check answers first.
    _problem(client.get("/api/v1/tenants/no-such-place/enablements", headers=headers), 403)


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (_enable_body(scopes=[*SUBSET, "patient/Condition.rs"]), "#/scopes"),
        (_enable_body(scopes=["patient/Observation.cruds"]), "#/scopes"),
        (_enable_body(scopes=["not a scope"]), "#/scopes"),
        (_enable_body(scopes=[]), "#/scopes"),
        (_enable_body(roles=["operator"]), "#/roles"),
        (_enable_body(roles=[]), "#/roles"),
        (_enable_body(terms_version="2025-01"), "#/terms"),
        (_enable_body(app="no-such-app"), "#/app"),
        (_enable_body(scopes="launch openid"), "#/scopes"),
        (_enable_body(scopes=["launch\x00"]), "#/scopes/0"),
        ({"app": "news2-test"}, "#/scopes"),
    ],
)
def test_a_refused_enable_writes_nothing(client, headers, certified, body, pointer) -> None:
    answer = client.post(LIST, json=body, headers=headers)

    assert pointer in _pointers(_problem(answer, 422))
    assert _snapshot() == []


@pytest.mark.parametrize("state", [S.DRAFT, S.SUBMITTED, S.SUSPENDED, S.REVOKED, S.SUPERSEDED])
def test_an_app_without_a_certified_release_is_a_conflict(client, headers, state) -> None:
    ReleaseFactory(state=state, scopes=REGISTERED, application__slug="news2-test")

    _problem(client.post(LIST, json=_enable_body(), headers=headers), 409)
    assert _snapshot() == []


def test_enabling_twice_is_a_conflict(client, headers, enabled) -> None:
    before = _snapshot()
    _problem(client.post(LIST, json=_enable_body(scopes=["launch"]), headers=headers), 409)
    assert _snapshot() == before


def test_changes_need_a_current_if_match(client, oslo, headers, enabled) -> None:
    # Someone else changes the enablement after this client read it.
    other = client.patch(
        ITEM, json={"roles": ["clinician", "patient"]}, headers={**headers, "If-Match": enabled}
    )
    assert other.status_code == 200
    before = _snapshot()
    stale = {**headers, "If-Match": enabled}

    _problem(client.patch(ITEM, json={"scopes": ["launch"]}, headers=headers), 428)
    _problem(client.patch(ITEM, json={"scopes": ["launch"]}, headers=stale), 412)
    _problem(
        client.post(
            f"{ITEM}/disable",
            json={"exit_step": "data_deleted", "confirmed_by": "X"},
            headers=stale,
        ),
        412,
    )
    _problem(client.post(f"{ITEM}/move", json={"version": "1.0.0"}, headers=headers), 428)
    assert _snapshot() == before
    fresh = {**headers, "If-Match": other.headers["ETag"]}
    assert client.patch(ITEM, json={"scopes": ["launch"]}, headers=fresh).status_code == 200


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"exit_step": "forgotten", "confirmed_by": "Kari"}, "#/exit_step"),
        ({"confirmed_by": "Kari"}, "#/exit_step"),
        ({"exit_step": "data_returned", "confirmed_by": "  "}, "#/confirmed_by"),
        ({"exit_step": "data_returned", "confirmed_by": "K" * 201}, "#/confirmed_by"),
        ({"exit_step": "data_returned", "confirmed_by": "Kari", "note": "n" * 2001}, "#/note"),
    ],
)
def test_a_refused_disable_writes_nothing(client, headers, certified, enabled, body, pointer):
    before = _snapshot()

    answer = client.post(f"{ITEM}/disable", json=body, headers={**headers, "If-Match": enabled})

    assert pointer in _pointers(_problem(answer, 422))
    assert _snapshot() == before
    assert _decision(certified).allowed


def test_a_refused_access_change_writes_nothing(client, headers, enabled) -> None:
    before = _snapshot()
    if_match = {**headers, "If-Match": enabled}

    beyond = client.patch(ITEM, json={"scopes": ["user/Observation.rs"]}, headers=if_match)
    no_roles = client.patch(ITEM, json={"roles": []}, headers=if_match)

    assert _pointers(_problem(beyond, 422)) == {"#/scopes"}
    assert _pointers(_problem(no_roles, 422)) == {"#/roles"}
    assert _snapshot() == before


def test_a_stopped_release_shows_as_stopped(client, headers, certified, enabled) -> None:
    releases.suspend(certified, by=reviewer(), reason="Sikkerhetshull.")
    db.session.flush()

    assert client.get(ITEM, headers=headers).json["stopped"] is True
    assert not _decision(certified).allowed


# --- the document ---------------------------------------------------------------------------


def test_every_endpoint_is_documented_with_its_errors(client) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    base = "/api/v1/tenants/{slug}/enablements"
    item = base + "/{app_slug}"
    expected = {
        (base, "get"),
        (base, "post"),
        (item, "get"),
        (item, "patch"),
        (item + "/move", "post"),
        (item + "/disable", "post"),
        (item + "/history", "get"),
        (item + "/pending", "get"),
    }
    for path, method in expected:
        operation = document["paths"][path][method]
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        assert {"403", "404"} <= set(operation["responses"]), where
        if method in {"patch"} or path.endswith(("/move", "/disable")):
            assert {"409", "412", "428"} <= set(operation["responses"]), where
            assert any(p["name"] == "If-Match" for p in operation["parameters"]), where
    assert "ETag" in document["paths"][item]["get"]["responses"]["200"]["headers"]
    assert "X-Pagination" in document["paths"][base]["get"]["responses"]["200"]["headers"]
