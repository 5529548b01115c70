"""The token endpoint (RFC 6749 §3.2, §4.1.3, §4.4, §6; SMART App Launch 2.2) on the wire.

Every grant and every client type. A refusal answers with the RFC 6749 §5.2
error code and status, carries no token, and writes nothing but its audit
event (`AuthEvent`): `refused()` checks all four.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec

from auth import keys
from auth.models import AuthEvent, AuthorizationCode
from catalog import credentials, releases
from catalog.models import ClientType, ReleaseState
from marketplace import enablements, terms
from marketplace.enablements import Access
from marketplace.models import ExitStep
from tests.auth.checks import (
    ISSUER,
    STANDALONE,
    backend,
    basic,
    enablement_of,
    introspect,
    refresh,
    refused,
    secret_redeem,
    state_of_the_database,
    tokens_for,
    verified,
    with_patients,
)
from tests.auth.smart import (
    REDIRECT_URI,
    REGISTERED,
    TOKEN_ENDPOINT,
    KeyedClient,
    approve,
    backend_token,
    code_for,
    consent,
    epj,
    keyed_client,
    pkce,
    redeem,
    sign_in,
    smart_app,
)
from tests.conftest import csrf_token, make_app
from tests.factories.accounts import PASSWORD
from tests.factories.catalog import ReleaseFactory, member_of, reviewer
from tests.factories.marketplace import TenantFactory, admin_of
from torget.config import DEFAULT_RATE_LIMITS
from torget.db import db, utcnow

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture(autouse=True)
def signing_key(db_session: None) -> None:
    keys.ensure_current()


# --- the authorization code ------------------------------------------------------------------


def test_a_code_buys_a_signed_access_token_and_an_id_token(client) -> None:
    app = with_patients(smart_app())
    sign_in(client, app.clinician)
    params = app.params(
        "openid fhirUser profile launch/patient patient/Observation.rs", nonce="n-0S6_WzA2Mj"
    )
    consent(client, app, params)
    query = approve(client, params, patient="pas-1")
    assert query["iss"] == [ISSUER]  # RFC 9207
    response = redeem(client, app, query["code"][0])

    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    body = response.get_json()
    granted = "openid fhirUser profile launch/patient patient/Observation.rs"
    assert set(body["scope"].split()) == set(granted.split())
    assert body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 3600
    assert body["patient"] == "pas-1"
    assert body["need_patient_banner"] is True  # a standalone launch: no journal around it
    assert "encounter" not in body
    assert "refresh_token" not in body  # neither offline_access nor online_access asked for

    claims = verified(client, body["access_token"], audience=app.aud)
    assert 0 < claims["exp"] - claims["iat"] <= 3600
    assert claims["scope"] == body["scope"]
    assert claims["client_id"] == app.client_id
    assert claims["patient"] == "pas-1"
    assert claims["tenant"] == app.tenant.slug
    assert claims["sub"] == f"user-{app.clinician.id}"
    assert claims["fhirUser"] == f"{app.aud}/Practitioner/hpr-1234567"
    assert claims["jti"]
    assert jwt.get_unverified_header(body["access_token"])["typ"] == "at+jwt"

    identity = verified(client, body["id_token"], audience=app.client_id, alg="RS256")
    assert identity["nonce"] == "n-0S6_WzA2Mj"
    assert identity["fhirUser"] == f"{app.aud}/Practitioner/hpr-1234567"
    assert identity["sub"] == claims["sub"]
    assert identity["name"] == app.clinician.display_name
    event = db.session.scalars(sa.select(AuthEvent).order_by(AuthEvent.id.desc())).first()
    assert (event.endpoint, event.outcome, event.grant_type, event.client_id) == (
        "token",
        "issued",
        "authorization_code",
        app.client_id,
    )


def test_an_ehr_launch_hands_its_whole_context_to_the_app(client) -> None:
    app = smart_app()
    journal = epj(app.tenant)
    system = backend_token(client, journal, "system/launch")["access_token"]
    made = client.post(
        "/oauth/launch",
        json={
            "client_id": app.client_id,
            "patient": "pas-9",
            "encounter": "enc-1",
            "user": app.clinician.email,
            "intent": "reconcile-medications",
            "fhirContext": [{"reference": "DiagnosticReport/42", "role": "launch"}],
        },
        headers={"Authorization": f"Bearer {system}"},
    )
    assert made.status_code == 201, made.get_json()
    code, _params = code_for(
        client,
        app,
        scope="launch openid fhirUser patient/Observation.rs",
        launch=made.json["launch"],
    )
    body = redeem(client, app, code).get_json()

    assert body["patient"] == "pas-9"
    assert body["encounter"] == "enc-1"
    assert body["intent"] == "reconcile-medications"
    assert body["fhirContext"] == [{"reference": "DiagnosticReport/42", "role": "launch"}]
    assert body["need_patient_banner"] is False  # the journal shows its own banner
    claims = verified(client, body["access_token"], audience=app.aud)
    assert (claims["patient"], claims["encounter"]) == ("pas-9", "enc-1")
    assert claims["fhirContext"] == body["fhirContext"]


def test_a_code_is_used_once_and_its_replay_revokes_what_it_bought(client) -> None:
    app = with_patients(smart_app())
    code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
    first = redeem(client, app, code).get_json()
    assert introspect(client, app, first["access_token"])["active"] is True
    before = state_of_the_database()

    again = redeem(client, app, code)

    refused(again, "invalid_grant", 400, before)
    assert introspect(client, app, first["access_token"]) == {"active": False}
    assert introspect(client, app, first["refresh_token"]) == {"active": False}
    refused(refresh(client, app, first["refresh_token"]), "invalid_grant", 400, before)


def test_a_code_is_bound_to_the_client_it_was_issued_to(client) -> None:
    app = with_patients(smart_app())
    other = smart_app(tenant=app.tenant)
    code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
    before = state_of_the_database()

    stolen = redeem(client, app, code, client_id=other.client_id)

    refused(stolen, "invalid_grant", 400, before)
    # The thief's try neither burned the code nor revoked anything.
    assert redeem(client, app, code).status_code == 200


def test_a_code_expires_after_sixty_seconds(client) -> None:
    app = with_patients(smart_app())
    code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
    # The clock moves on 61 s: the code was made 61 s ago and lived 60.
    made = utcnow() - dt.timedelta(seconds=61)
    db.session.execute(
        sa.update(AuthorizationCode).values(
            created_at=made, expires_at=made + dt.timedelta(seconds=60)
        )
    )
    before = state_of_the_database()

    refused(redeem(client, app, code), "invalid_grant", 400, before)


@pytest.mark.parametrize(
    ("redirect_uri", "error"),
    [
        ("https://app.example/callback/", "invalid_grant"),
        ("https://app.example/other", "invalid_grant"),
        ("", "invalid_grant"),  # RFC 6749 §4.1.3: required when the request had one
    ],
)
def test_the_redirect_uri_must_be_the_one_the_code_was_sent_to(client, redirect_uri, error) -> None:
    app = with_patients(smart_app())
    code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
    before = state_of_the_database()

    refused(redeem(client, app, code, redirect_uri=redirect_uri), error, 400, before)


@pytest.mark.parametrize(
    ("verifier", "error"),
    [
        (pkce()[0], "invalid_grant"),  # well formed, but another challenge's
        ("", "invalid_request"),
        ("a" * 42, "invalid_request"),  # RFC 7636 §4.1: 43 to 128 characters
        ("a" * 129, "invalid_request"),
        ("a" * 42 + "+", "invalid_request"),  # unreserved characters only
        ("a" * 42 + " ", "invalid_request"),
    ],
)
def test_pkce_the_code_verifier_must_answer_the_challenge(client, verifier, error) -> None:
    app = with_patients(smart_app())
    code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
    before = state_of_the_database()

    refused(redeem(client, app, code, code_verifier=verifier), error, 400, before)


def test_pkce_is_required_of_a_confidential_client_too(client) -> None:
    app = with_patients(smart_app(client_type=ClientType.CONFIDENTIAL_SECRET))
    code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
    before = state_of_the_database()
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}

    response = client.post("/oauth/token", data=data, headers=basic(app.client_id, app.secret))

    refused(response, "invalid_request", 400, before)


@pytest.mark.parametrize("name", ["code", "code_verifier", "redirect_uri", "grant_type"])
def test_a_repeated_parameter_is_refused(client, name) -> None:
    app = with_patients(smart_app())
    code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
    data: dict[str, Any] = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": app.verifier,
        "client_id": app.client_id,
    }
    data[name] = [data[name], data[name]]  # even the same value twice (RFC 6749 §3.2)
    before = state_of_the_database()

    body = refused(client.post("/oauth/token", data=data), "invalid_request", 400, before)

    assert name in body["error_description"]
    assert redeem(client, app, code).status_code == 200  # the code was not spent


@pytest.mark.parametrize("grant_type", ["", "urn:example:unknown", "implicit", "password"])
def test_only_three_grant_types_are_served(client, grant_type) -> None:
    """No implicit and no password grant (RFC 9700 §2.1.2, §2.4)."""
    app = smart_app()
    data = {
        "grant_type": grant_type,
        "client_id": app.client_id,
        "username": app.clinician.email,
        "password": PASSWORD,
        "scope": "openid patient/Observation.rs",
    }
    before = state_of_the_database()

    refused(client.post("/oauth/token", data=data), "unsupported_grant_type", 400, before)


def test_the_implicit_flow_cannot_be_asked_for_at_authorize_either(client) -> None:
    app = smart_app()
    sign_in(client, app.clinician)

    response = client.get("/oauth/authorize", query_string=app.params(response_type="token"))

    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    assert "#" not in location
    assert "access_token" not in location
    assert parse_qs(urlsplit(location).query)["error"] == ["unsupported_response_type"]


# --- client types ----------------------------------------------------------------------------


def test_a_public_client_authenticates_with_nothing_but_pkce(client) -> None:
    app = with_patients(smart_app())
    body = tokens_for(client, app)
    assert verified(client, body["access_token"], app.aud)["client_id"] == app.client_id


def test_a_public_client_cannot_present_a_secret(client) -> None:
    app = with_patients(smart_app())
    code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
    before = state_of_the_database()

    response = redeem(client, app, code, client_secret="torget_cs_guess")

    refused(response, "invalid_client", 400, before)


def test_a_confidential_client_authenticates_with_basic_or_post(client) -> None:
    app = with_patients(smart_app(client_type=ClientType.CONFIDENTIAL_SECRET))
    code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
    by_basic = secret_redeem(client, app, code, **basic(app.client_id, app.secret))
    assert by_basic.status_code == 200, by_basic.get_json()

    code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
    by_post = redeem(client, app, code, client_secret=app.secret)
    assert by_post.status_code == 200, by_post.get_json()
    assert by_post.json["scope"] == by_basic.json["scope"]


def test_a_wrong_secret_is_invalid_client_and_spends_nothing(client) -> None:
    app = with_patients(smart_app(client_type=ClientType.CONFIDENTIAL_SECRET))
    code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
    before = state_of_the_database()

    by_basic = secret_redeem(client, app, code, **basic(app.client_id, app.secret + "x"))
    refused(by_basic, "invalid_client", 401, before)
    assert by_basic.headers["WWW-Authenticate"].startswith("Basic")  # RFC 6749 §5.2
    by_post = redeem(client, app, code, client_secret="torget_cs_wrong")
    refused(by_post, "invalid_client", 400, before)
    no_secret = redeem(client, app, code)  # a confidential client cannot act as a public one
    refused(no_secret, "invalid_client", 401, before)

    assert secret_redeem(client, app, code, **basic(app.client_id, app.secret)).status_code == 200


@pytest.mark.parametrize("header", [" Basic", "Basic /w==", "Basic", " \u00d6\u00c0B"])
def test_a_malformed_basic_header_is_invalid_client(client, header) -> None:
    app = with_patients(smart_app(client_type=ClientType.CONFIDENTIAL_SECRET))
    code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
    before = state_of_the_database()

    refused(secret_redeem(client, app, code, Authorization=header), "invalid_client", 401, before)
    assert secret_redeem(client, app, code, **basic(app.client_id, app.secret)).status_code == 200


def test_a_secret_rotated_with_grace_keeps_working_beside_the_new_one(client) -> None:
    app = with_patients(smart_app(client_type=ClientType.CONFIDENTIAL_SECRET))
    new = credentials.rotate_secret(
        app.client, by=member_of(app.release.application.vendor), grace_days=7
    ).value

    for secret in (app.secret, new):
        code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
        response = secret_redeem(client, app, code, **basic(app.client_id, secret))
        assert response.status_code == 200, response.get_json()


def test_revoking_a_secret_stops_it_and_the_tokens_issued_on_it(client) -> None:
    app = with_patients(smart_app(client_type=ClientType.CONFIDENTIAL_SECRET))
    vendor_member = member_of(app.release.application.vendor)
    second = credentials.create_secret(app.client, by=vendor_member).value
    code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
    on_first = secret_redeem(client, app, code, **basic(app.client_id, app.secret)).get_json()
    code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
    on_second = secret_redeem(client, app, code, **basic(app.client_id, second)).get_json()
    first_secret = next(s for s in app.client.secrets if s.prefix == app.secret[10:18])

    credentials.revoke_secret(app.client, first_secret.id, by=vendor_member)
    db.session.flush()

    def active(token: str) -> bool:
        response = client.post(
            "/oauth/introspect", data={"token": token}, headers=basic(app.client_id, second)
        )
        return response.get_json()["active"]

    assert active(on_first["access_token"]) is False
    assert active(on_first["refresh_token"]) is False
    assert active(on_second["access_token"]) is True
    code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
    before = state_of_the_database()
    response = secret_redeem(client, app, code, **basic(app.client_id, app.secret))
    refused(response, "invalid_client", 401, before)
    # Nor does the live secret refresh what the revoked one was issued: no dead tokens.
    again = client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": on_first["refresh_token"]},
        headers=basic(app.client_id, second),
    )
    refused(again, "invalid_grant", 400, before)
    assert active(on_second["refresh_token"]) is True


def test_a_confidential_client_with_a_key_signs_its_way_through_the_code_flow(client) -> None:
    keyed = keyed_client(ClientType.CONFIDENTIAL_KEY, REGISTERED)
    app = with_patients(keyed.app)
    code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
    before = state_of_the_database()

    refused(redeem(client, app, code), "invalid_client", 401, before)  # no assertion
    response = redeem(client, app, code, **keyed.auth())

    assert response.status_code == 200, response.get_json()
    assert verified(client, response.json["access_token"], app.aud)["client_id"] == app.client_id


def test_client_credentials_is_for_backend_services_only(client) -> None:
    public = smart_app()
    keyed = keyed_client(ClientType.CONFIDENTIAL_KEY, REGISTERED)
    before = state_of_the_database()

    as_public = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": public.client_id,
            "scope": "patient/Observation.rs",
        },
    )
    refused(as_public, "invalid_client", 400, before)
    as_app = backend(client, keyed, "patient/Observation.rs")
    refused(as_app, "unauthorized_client", 400, before)


# --- backend services ------------------------------------------------------------------------

BACKEND_SCOPES = "system/Observation.rs system/Patient.r"


def test_a_backend_service_gets_system_scopes_only(client) -> None:
    keyed = keyed_client(ClientType.BACKEND, BACKEND_SCOPES, launch_url=None, launch_modes=[])

    response = backend(
        client, keyed, "system/Observation.rs patient/Observation.rs user/Patient.rs openid"
    )

    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["scope"] == "system/Observation.rs"
    assert body["token_type"] == "Bearer"
    assert not {"refresh_token", "id_token", "patient", "need_patient_banner"} & set(body)
    claims = verified(client, body["access_token"], audience=keyed.app.aud)
    assert (claims["sub"], claims["client_id"]) == (keyed.app.client_id, keyed.app.client_id)
    assert claims["scope"] == "system/Observation.rs"
    assert 0 < claims["exp"] - claims["iat"] <= 3600


def test_a_backend_service_asking_for_nothing_it_may_have_gets_invalid_scope(client) -> None:
    keyed = keyed_client(ClientType.BACKEND, BACKEND_SCOPES, launch_url=None, launch_modes=[])
    before = state_of_the_database()

    for scope in ("patient/Observation.rs user/Patient.rs", "system/Condition.rs", "launch"):
        refused(backend(client, keyed, scope), "invalid_scope", 400, before)


def test_a_backend_token_names_its_municipality_by_resource(client) -> None:
    keyed = keyed_client(ClientType.BACKEND, BACKEND_SCOPES, launch_url=None, launch_modes=[])
    elsewhere = TenantFactory()
    before = state_of_the_database()

    not_enabled = backend(
        client, keyed, "system/Observation.rs", resource=f"{ISSUER}/fhir/{elsewhere.slug}"
    )
    refused(not_enabled, "unauthorized_client", 400, before)
    unknown = backend(client, keyed, "system/Observation.rs", resource="https://evil.example/fhir")
    refused(unknown, "invalid_request", 400, before)

    own = backend(client, keyed, "system/Observation.rs", resource=keyed.app.aud)
    assert own.status_code == 200, own.get_json()
    assert verified(client, own.json["access_token"], audience=keyed.app.aud)


def _unsigned(keyed: KeyedClient) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {
        "iss": keyed.app.client_id,
        "sub": keyed.app.client_id,
        "aud": TOKEN_ENDPOINT,
        "exp": now + 240,
        "iat": now,
        "jti": uuid.uuid4().hex,
    }
    return f"{part({'alg': 'none', 'kid': keyed.kid})}.{part(claims)}."


@pytest.mark.parametrize("case", ["alg none", "expired", "unknown kid", "another key"])
def test_a_bad_client_assertion_is_invalid_client(client, case) -> None:
    keyed = keyed_client(ClientType.BACKEND, BACKEND_SCOPES, launch_url=None, launch_modes=[])
    now = int(time.time())
    if case == "alg none":
        assertion = _unsigned(keyed)
    elif case == "expired":
        assertion = keyed.assertion(exp=now - 120, iat=now - 360)
    elif case == "unknown kid":
        assertion = KeyedClient(keyed.app, keyed.private_key, "not-registered").assertion()
    else:
        stranger = ec.generate_private_key(ec.SECP384R1())
        assertion = KeyedClient(keyed.app, stranger, keyed.kid).assertion()
    data = {
        "grant_type": "client_credentials",
        "scope": "system/Observation.rs",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    before = state_of_the_database()

    refused(client.post("/oauth/token", data=data), "invalid_client", 400, before)


def test_a_client_assertion_is_used_once(client) -> None:
    keyed = keyed_client(ClientType.BACKEND, BACKEND_SCOPES, launch_url=None, launch_modes=[])
    data = {"grant_type": "client_credentials", "scope": "system/Observation.rs", **keyed.auth()}
    assert client.post("/oauth/token", data=data).status_code == 200
    before = state_of_the_database()

    refused(client.post("/oauth/token", data=data), "invalid_client", 400, before)


def test_a_refusal_describes_itself_in_ascii_whatever_the_input(client) -> None:
    """RFC 6749 §5.2: error_description is printable ASCII without '"' or '\\'.

    The reasons are in the reader's language (bokmål by default) and may quote
    what the client sent: neither may turn a refusal into a 500.
    """
    keyed = keyed_client(ClientType.BACKEND, BACKEND_SCOPES, launch_url=None, launch_modes=[])
    before = state_of_the_database()
    odd_kid = KeyedClient(keyed.app, keyed.private_key, 'nøkkel-"1"\\').assertion()
    requests = [
        ({"scope": 'system/Pasiént.rs "å"', **keyed.auth()}, "invalid_scope"),
        (
            {
                "scope": "system/Observation.rs",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": odd_kid,
            },
            "invalid_client",
        ),
    ]
    for data, error in requests:
        response = client.post("/oauth/token", data={"grant_type": "client_credentials", **data})
        description = refused(response, error, 400, before)["error_description"]
        assert description
        assert all(" " <= c <= "~" and c not in '"\\' for c in description), description


# --- refresh tokens --------------------------------------------------------------------------


def test_offline_access_gives_a_refresh_token_that_rotates(client) -> None:
    app = with_patients(smart_app())
    first = tokens_for(client, app)
    assert first["refresh_token"].startswith("torget_rt_")

    response = refresh(client, app, first["refresh_token"])

    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    second = response.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == first["scope"]
    assert second["patient"] == "pas-1"  # the patient stays in context
    claims = verified(client, second["access_token"], audience=app.aud)
    assert claims["patient"] == "pas-1"
    assert introspect(client, app, first["refresh_token"]) == {"active": False}
    assert introspect(client, app, second["refresh_token"])["active"] is True
    assert refresh(client, app, second["refresh_token"]).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(client) -> None:
    app = with_patients(smart_app())
    first = tokens_for(client, app)
    second = refresh(client, app, first["refresh_token"]).get_json()
    before = state_of_the_database()

    reused = refresh(client, app, first["refresh_token"])

    refused(reused, "invalid_grant", 400, before)
    for token in (second["access_token"], second["refresh_token"], first["access_token"]):
        assert introspect(client, app, token) == {"active": False}
    refused(refresh(client, app, second["refresh_token"]), "invalid_grant", 400, before)


def test_a_refresh_token_works_for_its_own_client_only(client) -> None:
    app = with_patients(smart_app())
    other = smart_app(tenant=app.tenant)
    issued = tokens_for(client, app)
    before = state_of_the_database()

    refused(
        refresh(client, app, issued["refresh_token"], client_id=other.client_id),
        "invalid_grant",
        400,
        before,
    )
    # Not a reuse: the owner's token is neither spent nor revoked by a stranger's try.
    assert introspect(client, app, issued["access_token"])["active"] is True
    assert refresh(client, app, issued["refresh_token"]).status_code == 200


def test_a_refresh_may_narrow_the_scopes_but_never_widen_them(client) -> None:
    app = with_patients(smart_app())
    issued = tokens_for(client, app)
    narrower = STANDALONE.replace("patient/Observation.rs", "patient/Observation.r")

    narrowed = refresh(client, app, issued["refresh_token"], scope=narrower)

    assert narrowed.status_code == 200, narrowed.get_json()
    assert set(narrowed.json["scope"].split()) == set(narrower.split())
    claims = verified(client, narrowed.json["access_token"], audience=app.aud)
    assert set(claims["scope"].split()) == set(narrower.split())
    assert narrowed.json["patient"] == "pas-1"
    before = state_of_the_database()
    for wider in (
        STANDALONE + " patient/Patient.r",  # registered and approved, but never granted
        "user/Observation.rs",  # user/ never covers patient/, nor the reverse
        "patient/*.rs",
        "not a scope!",
    ):
        refused(
            refresh(client, app, narrowed.json["refresh_token"], scope=wider),
            "invalid_scope",
            400,
            before,
        )


def test_a_refresh_keeps_the_refresh_tokens_scope_after_narrowing(client) -> None:
    """RFC 6749 §6: a new refresh token has the scope of the one it replaces."""
    app = with_patients(smart_app())
    issued = tokens_for(client, app)
    narrowed = refresh(client, app, issued["refresh_token"], scope="patient/Observation.r")
    assert narrowed.status_code == 200, narrowed.get_json()
    assert narrowed.json["scope"] == "patient/Observation.r"

    again = refresh(client, app, narrowed.json["refresh_token"])

    assert again.status_code == 200, again.get_json()
    assert set(again.json["scope"].split()) == set(issued["scope"].split())


def test_a_scope_the_municipality_withdraws_is_gone_at_the_next_refresh(client) -> None:
    app = with_patients(smart_app())
    issued = tokens_for(client, app, scope=STANDALONE + " patient/Patient.r")
    assert "patient/Patient.r" in issued["scope"].split()
    remaining = [s for s in REGISTERED.split() if s != "patient/Patient.r"]

    enablements.change_access(
        enablement_of(app), Access(remaining, ["clinician"]), by=admin_of(app.tenant)
    )
    db.session.flush()
    refreshed = refresh(client, app, issued["refresh_token"])

    assert refreshed.status_code == 200, refreshed.get_json()
    assert "patient/Patient.r" not in refreshed.json["scope"].split()
    assert set(refreshed.json["scope"].split()) == set(STANDALONE.split())
    claims = verified(client, refreshed.json["access_token"], audience=app.aud)
    assert "patient/Patient.r" not in claims["scope"].split()


def test_disabling_the_app_stops_refreshes_and_its_tokens_at_once(client) -> None:
    app = with_patients(smart_app())
    issued = tokens_for(client, app)

    enablements.disable(
        enablement_of(app),
        exit_step=ExitStep.NO_DATA_HELD.value,
        confirmed_by="Leverandørens personvernombud",
        by=admin_of(app.tenant),
    )
    db.session.flush()
    before = state_of_the_database()

    refused(refresh(client, app, issued["refresh_token"]), "invalid_grant", 400, before)
    assert introspect(client, app, issued["access_token"]) == {"active": False}


def test_enabling_the_app_again_does_not_bring_old_tokens_back(client) -> None:
    """A disable ends the app's tokens for good: the exit step may say its data is deleted."""
    app = with_patients(smart_app())
    issued = tokens_for(client, app)
    admin = admin_of(app.tenant)
    enablements.disable(
        enablement_of(app),
        exit_step=ExitStep.DATA_DELETED.value,
        confirmed_by="Leverandørens personvernombud",
        by=admin,
    )
    enablements.enable(
        app.tenant,
        app.release.application,
        Access(REGISTERED.split(), ["clinician"]),
        terms_version=terms.VERSION,
        by=admin,
    )
    db.session.flush()
    before = state_of_the_database()

    assert introspect(client, app, issued["access_token"]) == {"active": False}
    assert introspect(client, app, issued["refresh_token"]) == {"active": False}
    refused(refresh(client, app, issued["refresh_token"]), "invalid_grant", 400, before)
    # New launches work as before.
    assert tokens_for(client, app)["access_token"]


def test_reinstating_the_release_does_not_bring_old_tokens_back(client) -> None:
    """A suspension is a security measure: the sessions of before it stay ended."""
    app = with_patients(smart_app())
    issued = tokens_for(client, app)
    by = reviewer()
    releases.suspend(app.release, by=by, reason="Sikkerhetshull i innloggingen.")
    releases.reinstate(app.release, by=by, reason="Rettet og kontrollert på nytt.")
    db.session.flush()
    assert app.release.state == ReleaseState.CERTIFIED
    before = state_of_the_database()

    assert introspect(client, app, issued["access_token"]) == {"active": False}
    assert introspect(client, app, issued["refresh_token"]) == {"active": False}
    refused(refresh(client, app, issued["refresh_token"]), "invalid_grant", 400, before)
    # New launches work as before, and their tokens live.
    fresh = tokens_for(client, app)
    assert introspect(client, app, fresh["access_token"])["active"] is True
    assert refresh(client, app, fresh["refresh_token"]).status_code == 200


def test_moving_off_a_suspended_release_does_not_bring_its_tokens_back(client) -> None:
    """The release a grant was made under counts, not only the one the municipality runs now."""
    app = with_patients(smart_app())
    issued = tokens_for(client, app)
    releases.suspend(app.release, by=reviewer(), reason="Sikkerhetshull i innloggingen.")
    fixed = ReleaseFactory(
        application=app.release.application,
        version="2.0.0",
        state=ReleaseState.CERTIFIED,
        client_type=app.release.client_type,
        scopes=app.release.scopes,
        redirect_uris=[REDIRECT_URI],
    )
    enablements.move_to_release(enablement_of(app), fixed, by=admin_of(app.tenant))
    db.session.flush()
    before = state_of_the_database()

    assert introspect(client, app, issued["access_token"]) == {"active": False}
    assert introspect(client, app, issued["refresh_token"]) == {"active": False}
    refused(refresh(client, app, issued["refresh_token"]), "invalid_grant", 400, before)
    fresh = tokens_for(client, app)  # the fixed release launches as before
    assert introspect(client, app, fresh["access_token"])["active"] is True


def test_online_access_ends_when_the_user_signs_out(client) -> None:
    app = with_patients(smart_app())
    issued = tokens_for(client, app, scope=STANDALONE.replace("offline_access", "online_access"))
    assert issued["refresh_token"]
    while_signed_in = refresh(client, app, issued["refresh_token"])
    assert while_signed_in.status_code == 200, while_signed_in.get_json()

    signed_out = client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    assert signed_out.status_code == 303
    before = state_of_the_database()

    refused(
        refresh(client, app, while_signed_in.json["refresh_token"]), "invalid_grant", 400, before
    )


def test_offline_access_outlives_the_sign_in(client) -> None:
    app = with_patients(smart_app())
    issued = tokens_for(client, app)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})

    assert refresh(client, app, issued["refresh_token"]).status_code == 200


# --- rate limit ------------------------------------------------------------------------------


def test_the_token_endpoint_is_rate_limited(migrated_database_url: str, tmp_path: Path) -> None:
    """Its own app and database: a count commits on a connection of its own."""
    limited = make_app(
        migrated_database_url,
        tmp_path,
        rate_limits={**DEFAULT_RATE_LIMITS, "token": (2, 60)},
    )
    # A stopped clock at a whole minute: the three requests share one window.
    limited.extensions["torget.ratelimit"].clock = lambda: 6_048_000.0
    try:
        web = limited.test_client()
        data = {"grant_type": "client_credentials", "client_id": "app-nobody"}
        answers = [web.post("/oauth/token", data=data) for _ in range(3)]

        assert [a.status_code for a in answers[:2]] == [400, 400]
        assert answers[0].get_json()["error"] == "invalid_client"
        assert answers[2].status_code == 429
        assert answers[2].headers["Retry-After"] == "60"
        # A browser app can read the refusal: JSON, with CORS like every answer here.
        assert answers[2].mimetype == "application/problem+json"
        assert answers[2].get_json()["status"] == 429
        assert answers[2].headers["Access-Control-Allow-Origin"] == "*"
        assert "access_token" not in answers[2].get_data(as_text=True)
    finally:
        with limited.app_context():
            db.engine.dispose()
