"""The built-in EPJ launcher (/m/<tenant>/epj): find a patient, start an enabled app for them."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from auth import launch
from auth.models import AuthEvent, LaunchContext
from tests.auth.smart import smart_app
from tests.conftest import sign_in_in_english
from tests.factories.gateway import add_encounter, add_patient
from tests.factories.marketplace import TenantFactory, admin_of, clinician_of
from torget import tokens
from torget.db import db


@pytest.fixture
def ward(db_session):
    """A municipality with two patients and an app enabled for its health personnel."""
    app = smart_app()
    add_patient(app.tenant.id, "pas-1", "Kari Nordmann", birth_date=dt.date(1944, 3, 1))
    add_patient(app.tenant.id, "pas-2", "Ola Hansen")
    add_encounter(
        app.tenant.id,
        "enc-1",
        "pas-1",
        "Hjemmebesøk",
        start=dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC),
    )
    db.session.flush()
    return app


def page(client, ward, **query) -> str:
    response = client.get(f"/m/{ward.tenant.slug}/epj", query_string=query)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_a_clinician_finds_a_patient_and_sees_the_apps_to_start(client, ward):
    sign_in_in_english(client, ward.clinician)
    assert "Kari Nordmann" in page(client, ward, q="kari")
    assert "Ola Hansen" not in page(client, ward, q="kari")
    chosen = page(client, ward, patient="pas-1")
    assert "Kari Nordmann" in chosen
    assert f'value="{ward.release.application.slug}"' in chosen
    assert "Hjemmebesøk" in chosen  # the encounter to launch in


def test_starting_an_app_makes_a_launch_context_and_opens_the_app(client, ward):
    token = sign_in_in_english(client, ward.clinician)
    response = client.post(
        f"/m/{ward.tenant.slug}/epj/start",
        data={
            "csrf_token": token,
            "app": ward.release.application.slug,
            "patient": "pas-1",
            "encounter": "enc-1",
        },
    )
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == ward.release.launch_url
    query = parse_qs(location.query)
    assert query["iss"] == [f"http://127.0.0.1:5000/fhir/{ward.tenant.slug}"]
    context = db.session.scalar(
        select(LaunchContext).where(LaunchContext.launch_hash == tokens.digest(query["launch"][0]))
    )
    assert (context.client_id, context.user_id) == (ward.client_id, ward.clinician.id)
    assert (context.patient, context.encounter) == ("pas-1", "enc-1")
    # The same single-use launch the authorization endpoint spends.
    assert launch.spend(query["launch"][0], client_id=ward.client_id).id == context.id
    (event,) = db.session.scalars(select(AuthEvent).where(AuthEvent.outcome == "created"))
    assert "EPJ launcher" in event.detail


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"app": "not-an-app"}, 403),
        ({"patient": "pas-404"}, 422),
        ({"patient": ""}, 422),
        ({"encounter": "enc-404"}, 422),
    ],
)
def test_a_start_that_cannot_be_is_refused_and_audited(client, ward, change, status):
    token = sign_in_in_english(client, ward.clinician)
    data = {"csrf_token": token, "app": ward.release.application.slug, "patient": "pas-1"}
    response = client.post(f"/m/{ward.tenant.slug}/epj/start", data={**data, **change})
    assert response.status_code == status
    assert db.session.scalar(select(LaunchContext)) is None
    assert db.session.scalar(select(AuthEvent).where(AuthEvent.outcome == "refused")) is not None


def test_an_app_not_for_health_personnel_or_without_journal_launch_is_not_offered(
    client, db_session
):
    tenant = TenantFactory()
    admins_only = smart_app(tenant=tenant, roles=("patient",))
    standalone_only = smart_app(tenant=tenant, launch_modes=["standalone"])
    add_patient(tenant.id, "pas-1", "Kari Nordmann")
    db.session.flush()
    clinician = clinician_of(tenant)
    token = sign_in_in_english(client, clinician)
    shown = client.get(f"/m/{tenant.slug}/epj", query_string={"patient": "pas-1"})
    text = shown.get_data(as_text=True)
    assert f'value="{admins_only.release.application.slug}"' not in text
    assert f'value="{standalone_only.release.application.slug}"' not in text
    for app in (admins_only, standalone_only):  # nor started by a forged form
        forced = client.post(
            f"/m/{tenant.slug}/epj/start",
            data={"csrf_token": token, "app": app.release.application.slug, "patient": "pas-1"},
        )
        assert forced.status_code == 403


def test_only_the_municipalitys_health_personnel_get_in(client, ward):
    assert client.get(f"/m/{ward.tenant.slug}/epj").status_code in (302, 303)
    sign_in_in_english(client, clinician_of(TenantFactory()))
    assert client.get(f"/m/{ward.tenant.slug}/epj").status_code == 403


def test_an_admin_is_not_health_personnel_here(client, ward):
    sign_in_in_english(client, admin_of(ward.tenant))
    assert client.get(f"/m/{ward.tenant.slug}/epj").status_code == 403


def test_a_search_that_is_not_valid_says_why(client, ward):
    sign_in_in_english(client, ward.clinician)
    response = client.get(f"/m/{ward.tenant.slug}/epj", query_string={"q": "31.02.1950"})
    assert response.status_code == 422
    assert "There is no such date." in response.get_data(as_text=True)


def test_a_post_without_the_csrf_token_is_refused(client, ward):
    sign_in_in_english(client, ward.clinician)
    response = client.post(
        f"/m/{ward.tenant.slug}/epj/start",
        data={"app": ward.release.application.slug, "patient": "pas-1"},
    )
    assert response.status_code == 400
    assert db.session.scalar(select(LaunchContext)) is None
