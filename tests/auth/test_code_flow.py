"""The authorization code flow end to end on the test client: consent, code, token."""

from __future__ import annotations

import jwt
import pytest

from auth import keys
from tests.auth.smart import code_for, redeem, smart_app
from tests.factories.gateway import add_patient

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture(autouse=True)
def signing_key(db_session):
    keys.ensure_current()


def test_a_standalone_launch_gets_a_token_for_the_chosen_patient(client) -> None:
    app = smart_app()
    from torget.db import db

    add_patient(tenant_id=app.tenant.id, fhir_id="pas-1", name="Kari Nordmann")
    db.session.flush()
    code, _params = code_for(client, app, patient="pas-1")
    response = redeem(client, app, code)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["patient"] == "pas-1"
    assert body["token_type"] == "Bearer"
    assert set(body["scope"].split()) == {
        "openid",
        "fhirUser",
        "launch/patient",
        "patient/Observation.rs",
    }
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == app.aud
    assert claims["patient"] == "pas-1"
    id_claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert id_claims["aud"] == app.client_id
    assert id_claims["fhirUser"].endswith("/Practitioner/hpr-1234567")
    again = redeem(client, app, code)
    assert again.status_code == 400
    assert again.get_json()["error"] == "invalid_grant"


def test_the_consent_form_may_redirect_to_the_app_and_nowhere_else(client) -> None:
    from tests.auth.smart import consent, sign_in

    app = smart_app()
    sign_in(client, app.clinician)
    params = app.params()
    page = client.get("/oauth/authorize", query_string=params)
    assert page.status_code == 200
    consent(client, app, params)
    policy = page.headers["Content-Security-Policy"]
    assert "form-action 'self' https://app.example" in policy
    assert "frame-ancestors 'none'" in policy
    assert "form-action 'self'" in client.get("/").headers["Content-Security-Policy"]
    assert "app.example" not in client.get("/").headers["Content-Security-Policy"]


def test_a_user_launch_names_the_style_sheet_it_can_follow(client) -> None:
    app = smart_app()
    code, _params = code_for(client, app, scope="openid fhirUser user/Patient.rs")
    body = redeem(client, app, code).get_json()
    assert body["scope"] == "openid fhirUser user/Patient.rs"
    assert "patient" not in body
    assert body["need_patient_banner"] is True
    assert body["smart_style_url"] == "http://127.0.0.1:5000/static/smart-style.json"
    style = client.get("/static/smart-style.json")
    assert style.status_code == 200
    assert style.get_json()["color_background"] == "#ffffff"


def test_an_ehr_launch_without_a_patient_lets_the_user_pick_one(client) -> None:
    from auth import launch
    from torget.db import db

    app = smart_app()
    add_patient(tenant_id=app.tenant.id, fhir_id="pas-7", name="Ola Hansen")
    issued = launch.create(client_id=app.client_id, tenant=app.tenant, user=None)
    db.session.flush()
    code, _params = code_for(
        client,
        app,
        scope="launch launch/patient patient/Observation.rs",
        launch=issued.launch,
        patient="pas-7",
    )
    body = redeem(client, app, code).get_json()
    assert body["patient"] == "pas-7"
    assert body["scope"] == "launch launch/patient patient/Observation.rs"
