"""Reading and ending tokens: introspection (RFC 7662), revocation (RFC 7009), UserInfo,
and `/oauth/launch`, where a journal system's token opens an app for a clinician.

Introspection reads the authoritative state: a revocation, a disabled
enablement, a suspended release or a revoked client secret shows at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask, g, request_finished
from flask.testing import FlaskClient

from accounts import api_tokens
from accounts.models import ApiToken, Role
from auth import issuing, keys
from auth.grants import Launcher
from auth.models import AuthEvent, LaunchContext, TokenGrant
from catalog import credentials, releases
from catalog.models import ClientType, Environment, ReleaseState
from marketplace import enablements
from marketplace.models import ExitStep
from tests.auth.checks import (
    STANDALONE,
    basic,
    introspect,
    refresh,
    refused,
    state_of_the_database,
    tokens_for,
    verified,
    with_patients,
)
from tests.auth.smart import SmartApp, backend_token, code_for, epj, redeem, smart_app
from tests.conftest import bearer
from tests.factories.accounts import MembershipFactory
from tests.factories.catalog import ReleaseFactory, member_of, reviewer
from tests.factories.marketplace import TenantFactory, admin_of, clinician_of
from torget.db import db, utcnow

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture(autouse=True)
def signing_key(db_session: None) -> None:
    keys.ensure_current()


@pytest.fixture
def resource_server() -> dict[str, str]:
    """The Authorization header of a resource server: an operator's Torget API token."""
    return bearer(MembershipFactory(role=Role.OPERATOR).user)


def as_resource_server(client: FlaskClient, headers: dict[str, str], token: str) -> dict:
    response = client.post("/oauth/introspect", data={"token": token}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def last_event() -> tuple[str, str]:
    event = db.session.scalars(sa.select(AuthEvent).order_by(AuthEvent.id.desc())).first()
    assert event is not None
    return event.endpoint, event.outcome


def revoke(client: FlaskClient, app: SmartApp, token: str, **extra: str) -> Any:
    return client.post("/oauth/revoke", data={"token": token, "client_id": app.client_id, **extra})


def disable(app: SmartApp) -> None:
    enablements.disable(
        enablements.find(app.tenant, app.release.application),
        exit_step=ExitStep.DATA_DELETED.value,
        confirmed_by="Leverandørens personvernombud",
        by=admin_of(app.tenant),
    )
    db.session.flush()


# --- introspection ----------------------------------------------------------------------------


def test_a_client_introspects_its_own_token(client) -> None:
    app = with_patients(smart_app())
    issued = tokens_for(client, app)
    claims = verified(client, issued["access_token"], audience=app.aud)

    response = client.post(
        "/oauth/introspect", data={"token": issued["access_token"], "client_id": app.client_id}
    )

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json()
    assert body["active"] is True
    assert body["token_type"] == "Bearer"
    assert set(body["scope"].split()) == set(issued["scope"].split())
    assert body["client_id"] == app.client_id
    assert body["patient"] == "pas-1"
    assert body["fhirUser"] == f"{app.aud}/Practitioner/hpr-1234567"
    assert (body["exp"], body["iat"], body["sub"]) == (claims["exp"], claims["iat"], claims["sub"])
    assert (body["iss"], body["aud"]) == (claims["iss"], app.aud)
    assert body["tenant"] == app.tenant.slug


def test_a_client_introspects_its_refresh_token(client) -> None:
    app = with_patients(smart_app())
    issued = tokens_for(client, app)

    body = introspect(client, app, issued["refresh_token"])

    assert body["active"] is True
    assert body["token_type"] == "refresh_token"
    assert body["client_id"] == app.client_id
    assert set(body["scope"].split()) == set(issued["scope"].split())
    assert body["patient"] == "pas-1"
    assert body["exp"] > body["iat"]
    assert refresh(client, app, issued["refresh_token"]).status_code == 200
    assert introspect(client, app, issued["refresh_token"]) == {"active": False}  # rotated


def test_a_client_learns_nothing_of_another_clients_token(client) -> None:
    app = with_patients(smart_app())
    other = smart_app(tenant=app.tenant)
    issued = tokens_for(client, app)

    for token in (issued["access_token"], issued["refresh_token"]):
        assert introspect(client, other, token) == {"active": False}
        assert introspect(client, app, token)["active"] is True


def test_a_resource_server_introspects_any_token(client, resource_server) -> None:
    app = with_patients(smart_app())
    issued = tokens_for(client, app)

    body = as_resource_server(client, resource_server, issued["access_token"])

    assert body["active"] is True
    assert body["client_id"] == app.client_id
    assert body["patient"] == "pas-1"
    assert as_resource_server(client, resource_server, "not-a-token") == {"active": False}


@pytest.mark.parametrize(
    "credentials_of",
    [
        lambda app: {},  # no client, no bearer
        lambda app: {"headers": bearer(clinician_of(app.tenant))},  # a user's, not an operator's
        lambda app: {"headers": {"Authorization": "Bearer torget_pat_forged"}},
        lambda app: {"headers": basic(app.client_id, "torget_cs_wrong")},
        lambda app: {"data": {"client_id": "no-such-client"}},
        # Authorization headers Authlib's Basic parser once raised on (a 500):
        lambda app: {"headers": {"Authorization": " Basic"}},
        lambda app: {"headers": {"Authorization": "Basic /w=="}},  # not UTF-8
        lambda app: {"headers": {"Authorization": " \u00d6\u00c0B"}},
    ],
    ids=[
        "nobody",
        "clinician",
        "forged bearer",
        "wrong secret",
        "unknown client",
        "a lone word",
        "basic not utf-8",
        "no scheme",
    ],
)
def test_introspection_needs_a_client_or_a_resource_server(client, credentials_of) -> None:
    app = with_patients(smart_app(client_type=ClientType.CONFIDENTIAL_SECRET))
    code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
    token = redeem(client, app, code, client_secret=app.secret).get_json()["access_token"]
    asked = credentials_of(app)
    before = state_of_the_database()

    response = client.post(
        "/oauth/introspect",
        data={"token": token, **asked.get("data", {})},
        headers=asked.get("headers", {}),
    )

    body = refused(response, "invalid_client", 401, before, endpoint="introspect")
    assert "active" not in body
    assert response.headers["WWW-Authenticate"]


def _revoke_it(client: FlaskClient, app: SmartApp, issued: dict) -> None:
    assert revoke(client, app, issued["refresh_token"], client_secret=app.secret).status_code == 200


def _disable_it(client: FlaskClient, app: SmartApp, issued: dict) -> None:
    disable(app)


def _suspend_it(client: FlaskClient, app: SmartApp, issued: dict) -> None:
    releases.suspend(app.release, by=reviewer(), reason="Sikkerhetshull i innloggingen.")
    db.session.flush()


def _revoke_its_secret(client: FlaskClient, app: SmartApp, issued: dict) -> None:
    vendor_member = member_of(app.release.application.vendor)
    (secret,) = app.client.secrets
    credentials.revoke_secret(app.client, secret.id, by=vendor_member)
    db.session.flush()


def _deactivate_the_user(client: FlaskClient, app: SmartApp, issued: dict) -> None:
    app.clinician.is_active = False
    db.session.flush()


@pytest.mark.parametrize(
    "stop",
    [_revoke_it, _disable_it, _suspend_it, _revoke_its_secret, _deactivate_the_user],
    ids=[
        "revoked",
        "enablement disabled",
        "release suspended",
        "client secret revoked",
        "user deactivated",
    ],
)
def test_a_token_is_inactive_at_once(
    client, resource_server, stop: Callable[[FlaskClient, SmartApp, dict], None]
) -> None:
    app = with_patients(smart_app(client_type=ClientType.CONFIDENTIAL_SECRET))
    code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
    issued = redeem(client, app, code, client_secret=app.secret).get_json()
    for token in (issued["access_token"], issued["refresh_token"]):
        assert as_resource_server(client, resource_server, token)["active"] is True

    stop(client, app, issued)

    for token in (issued["access_token"], issued["refresh_token"]):
        assert as_resource_server(client, resource_server, token) == {"active": False}


def test_a_sandbox_token_lives_while_its_release_is_under_test(
    app, client, resource_server
) -> None:
    """A sandbox client's rule is the release under test's, not an enablement's."""
    release = ReleaseFactory(state=ReleaseState.SUBMITTED, scopes="system/Patient.rs")
    sandbox = credentials.ensure_client(release.application, Environment.SANDBOX)
    tenant = TenantFactory(organisation__slug=app.config["TORGET"].sandbox_tenant)
    grant = TokenGrant(
        client_id=sandbox.client_id,
        tenant=tenant,
        launcher=Launcher.SYSTEM.value,
        scope="system/Patient.rs",
    )
    db.session.add(grant)
    db.session.flush()
    token = issuing.issue(grant, scope=grant.scope, refresh=False).response["access_token"]
    db.session.flush()
    assert as_resource_server(client, resource_server, token)["client_id"] == sandbox.client_id

    by = reviewer()
    releases.start_review(release, by=by)
    releases.reject(release, by=by, reason="Mangler DPIA.")
    db.session.flush()

    assert as_resource_server(client, resource_server, token) == {"active": False}


# --- revocation -------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "not-a-token", "torget_rt_unknown", "x" * 10_000])
def test_revocation_answers_200_whatever_the_token(client, token) -> None:
    app = smart_app()

    response = revoke(client, app, token)

    assert response.status_code == 200
    assert response.get_json() == {}
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_revoking_a_refresh_token_revokes_its_grant(client) -> None:
    app = with_patients(smart_app())
    issued = tokens_for(client, app)
    earlier = refresh(client, app, issued["refresh_token"]).get_json()
    issued = refresh(client, app, earlier["refresh_token"]).get_json()

    response = revoke(client, app, issued["refresh_token"], token_type_hint="refresh_token")

    assert response.status_code == 200
    for token in (issued["access_token"], issued["refresh_token"], earlier["access_token"]):
        assert introspect(client, app, token) == {"active": False}
    before = state_of_the_database()
    refused(refresh(client, app, issued["refresh_token"]), "invalid_grant", 400, before)
    event = db.session.scalars(
        sa.select(AuthEvent).where(AuthEvent.endpoint == "revoke").order_by(AuthEvent.id.desc())
    ).first()
    assert (event.outcome, event.client_id) == ("revoked", app.client_id)


def test_revoking_an_access_token_ends_that_token(client) -> None:
    app = with_patients(smart_app())
    issued = tokens_for(client, app)

    assert revoke(client, app, issued["access_token"]).status_code == 200

    assert introspect(client, app, issued["access_token"]) == {"active": False}
    assert refresh(client, app, issued["refresh_token"]).status_code == 200


def test_a_client_cannot_revoke_another_clients_token(client) -> None:
    app = with_patients(smart_app())
    other = smart_app(tenant=app.tenant)
    issued = tokens_for(client, app)

    for token in (issued["access_token"], issued["refresh_token"]):
        assert revoke(client, other, token).status_code == 200  # RFC 7009 §2.2: no hint given

    for token in (issued["access_token"], issued["refresh_token"]):
        assert introspect(client, app, token)["active"] is True


def test_revocation_needs_client_authentication(client) -> None:
    app = with_patients(smart_app(client_type=ClientType.CONFIDENTIAL_SECRET))
    code, _params = code_for(client, app, scope=STANDALONE, patient="pas-1")
    issued = redeem(client, app, code, client_secret=app.secret).get_json()
    before = state_of_the_database()

    response = client.post(
        "/oauth/revoke",
        data={"token": issued["refresh_token"]},
        headers=basic(app.client_id, "torget_cs_wrong"),
    )

    refused(response, "invalid_client", 401, before, endpoint="revoke")
    still = client.post(
        "/oauth/introspect",
        data={"token": issued["refresh_token"]},
        headers=basic(app.client_id, app.secret),
    )
    assert still.get_json()["active"] is True


# --- UserInfo ---------------------------------------------------------------------------------


def test_userinfo_tells_who_signed_in(client) -> None:
    app = with_patients(smart_app())
    issued = tokens_for(client, app, scope="openid fhirUser profile launch/patient")
    identity = verified(client, issued["id_token"], audience=app.client_id, alg="RS256")

    for method in (client.get, client.post):
        response = method(
            "/oauth/userinfo", headers={"Authorization": f"Bearer {issued['access_token']}"}
        )
        assert response.status_code == 200, response.get_json()
        assert response.headers["Cache-Control"] == "no-store"
        assert response.get_json() == {
            "sub": identity["sub"],
            "fhirUser": f"{app.aud}/Practitioner/hpr-1234567",
            "name": app.clinician.display_name,
        }


def test_userinfo_tells_only_what_the_scopes_allow(client) -> None:
    app = with_patients(smart_app())
    issued = tokens_for(client, app, scope="openid launch/patient patient/Observation.rs")

    response = client.get(
        "/oauth/userinfo", headers={"Authorization": f"Bearer {issued['access_token']}"}
    )

    assert response.get_json() == {"sub": f"user-{app.clinician.id}"}


def test_userinfo_needs_a_live_token_with_openid(client) -> None:
    app = with_patients(smart_app())
    without_openid = tokens_for(client, app, scope="launch/patient patient/Observation.rs")
    revoked = tokens_for(client, app, scope="openid fhirUser launch/patient")
    revoke(client, app, revoked["access_token"])
    system = backend_token(client, epj(app.tenant), "system/launch")["access_token"]

    for header in (
        f"Bearer {without_openid['access_token']}",
        f"Bearer {revoked['access_token']}",
        f"Bearer {system}",  # a backend service has no user to tell of
        f"Bearer {revoked['id_token']}",  # an ID token opens nothing (RS256, not at+jwt)
        "Bearer not-a-token",
        "",
    ):
        response = client.get("/oauth/userinfo", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.get_json()["error"] == "invalid_token"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "sub" not in response.get_json()


# --- /oauth/launch ----------------------------------------------------------------------------


@pytest.fixture
def journal(client) -> tuple[SmartApp, Any, dict[str, str]]:
    """An app, the municipality's journal system, and the journal's Authorization header."""
    app = smart_app()
    system = epj(app.tenant)
    token = backend_token(client, system, "system/launch")["access_token"]
    return app, system, {"Authorization": f"Bearer {token}"}


def test_the_journal_system_creates_a_launch(client, journal) -> None:
    app, system, headers = journal

    response = client.post(
        "/oauth/launch",
        json={"client_id": app.client_id, "patient": "pas-9", "hpr": "1234567"},
        headers=headers,
    )

    assert response.status_code == 201, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["iss"] == app.aud
    assert 0 < body["expires_in"] <= 300
    url = urlsplit(body["launch_url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://app.example/launch"
    assert parse_qs(url.query) == {"iss": [app.aud], "launch": [body["launch"]]}
    event = db.session.scalars(sa.select(AuthEvent).order_by(AuthEvent.id.desc())).first()
    assert (event.endpoint, event.outcome, event.client_id) == (
        "launch",
        "created",
        system.app.client_id,
    )
    # The app opens with it, for that clinician and patient.
    code, _params = code_for(
        client, app, scope="launch openid patient/Observation.rs", launch=body["launch"]
    )
    assert redeem(client, app, code).get_json()["patient"] == "pas-9"


def test_a_launch_needs_a_live_token(client, journal) -> None:
    app, _system, _headers = journal
    before = state_of_the_database()

    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}):
        response = client.post("/oauth/launch", json={"client_id": app.client_id}, headers=headers)
        refused(response, "invalid_token", 401, before, endpoint="launch")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_launch_needs_the_scope_system_launch(client) -> None:
    app = smart_app()
    system = epj(app.tenant)
    token = backend_token(client, system, "system/Patient.rs")["access_token"]
    before = state_of_the_database()

    response = client.post(
        "/oauth/launch",
        json={"client_id": app.client_id},
        headers={"Authorization": f"Bearer {token}"},
    )

    body = refused(response, "insufficient_scope", 403, before, endpoint="launch")
    assert "system/launch" in body["error_description"]


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        ["a", "list"],
        {},
        {"client_id": ""},
        {"client_id": "x", "user": "not-an-email"},
        {"client_id": "x", "hpr": "12ab"},
        {"client_id": "x", "patient": "p" * 65},
        {"client_id": "x", "fhirContext": "Encounter/1"},
    ],
)
def test_a_launch_request_that_does_not_parse_is_400(client, journal, payload) -> None:
    _app, _system, headers = journal
    before = state_of_the_database()

    if isinstance(payload, str):
        response = client.post(
            "/oauth/launch",
            data=payload,
            headers={**headers, "Content-Type": "application/json"},
        )
    else:
        response = client.post("/oauth/launch", json=payload, headers=headers)

    refused(response, "invalid_request", 400, before, endpoint="launch")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"patient": "has space"}, "patient"),
        ({"intent": "<script>"}, "intent"),
        ({"fhirContext": [{"reference": "Nothing/1"}]}, "fhir_context.0"),
    ],
)
def test_a_launch_with_bad_values_is_422(client, journal, payload, field) -> None:
    app, _system, headers = journal
    before = state_of_the_database()

    response = client.post(
        "/oauth/launch", json={"client_id": app.client_id, **payload}, headers=headers
    )

    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid_request"
    assert field in body["errors"]
    assert "launch" not in body
    assert state_of_the_database() == before
    assert last_event() == ("launch", "refused")


def test_an_hpr_number_names_the_persons_account_in_this_municipality(client, journal) -> None:
    app, _system, headers = journal
    clinician_of(TenantFactory(), hpr_number="7654321")  # the same person, working elsewhere too
    here = clinician_of(app.tenant, hpr_number="7654321")

    response = client.post(
        "/oauth/launch",
        json={"client_id": app.client_id, "patient": "pas-9", "hpr": "7654321"},
        headers=headers,
    )

    assert response.status_code == 201, response.get_json()
    (context,) = db.session.scalars(sa.select(LaunchContext)).all()
    assert context.user_id == here.id


def _twice_here(app: SmartApp) -> dict[str, str]:
    """An HPR number two accounts of the municipality share: which person is meant is unknown."""
    clinician_of(app.tenant, hpr_number="7654321")
    clinician_of(app.tenant, hpr_number="7654321")
    return {"hpr": "7654321"}


@pytest.mark.parametrize(
    "who", ["clinician elsewhere", "unknown email", "unknown hpr", "hpr of two accounts here"]
)
def test_a_launch_is_for_a_clinician_of_the_municipality(client, journal, who) -> None:
    app, _system, headers = journal
    identity = {
        "clinician elsewhere": lambda: {"user": clinician_of(TenantFactory()).email},
        "unknown email": lambda: {"user": "nobody@example.no"},
        "unknown hpr": lambda: {"hpr": "7654321"},
        "hpr of two accounts here": lambda: _twice_here(app),
    }[who]()
    before = state_of_the_database()

    response = client.post(
        "/oauth/launch", json={"client_id": app.client_id, **identity}, headers=headers
    )

    assert response.status_code == 422
    assert response.get_json()["error"] == "invalid_request"
    assert "launch" not in response.get_json()
    assert state_of_the_database() == before
    assert last_event() == ("launch", "unknown_user")


def test_no_launch_of_an_app_the_municipality_has_not_enabled(client, journal) -> None:
    app, _system, headers = journal
    elsewhere = smart_app()  # enabled in another municipality only
    before = state_of_the_database()

    for client_id in (elsewhere.client_id, "no-such-client"):
        response = client.post("/oauth/launch", json={"client_id": client_id}, headers=headers)
        assert response.status_code == 403
        assert response.get_json()["error"] == "invalid_request"
        assert "launch" not in response.get_json()
        assert state_of_the_database() == before
        assert last_event() == ("launch", "refused")

    disable(app)
    response = client.post("/oauth/launch", json={"client_id": app.client_id}, headers=headers)
    assert response.status_code == 403


def test_a_disabled_journal_system_can_launch_no_more(client, journal) -> None:
    app, system, headers = journal
    disable(system.app)
    before = state_of_the_database()

    response = client.post("/oauth/launch", json={"client_id": app.client_id}, headers=headers)

    refused(response, "invalid_token", 401, before, endpoint="launch")


# --- the resource server's own credentials ----------------------------------------------------


def _operator_token() -> tuple[ApiToken, dict[str, str]]:
    operator = MembershipFactory(role=Role.OPERATOR).user
    issued = api_tokens.issue(operator, name="gateway", expires_in_days=1)
    return issued.token, {"Authorization": f"Bearer {issued.secret}"}


@pytest.mark.parametrize(
    "spoil",
    [
        lambda token: setattr(token, "revoked_at", utcnow()),
        lambda token: setattr(token, "expires_at", utcnow() - dt.timedelta(seconds=1)),
        lambda token: setattr(token.user, "is_active", False),
    ],
    ids=["revoked", "expired", "operator deactivated"],
)
def test_a_resource_server_needs_a_live_token_of_an_active_operator(client, spoil) -> None:
    app = with_patients(smart_app())
    issued = tokens_for(client, app)
    api_token, headers = _operator_token()
    spoil(api_token)
    db.session.flush()
    before = state_of_the_database()

    response = client.post(
        "/oauth/introspect", data={"token": issued["access_token"]}, headers=headers
    )

    refused(response, "invalid_client", 401, before, endpoint="introspect")
    assert db.session.get(ApiToken, api_token.id).last_used_at is None


def test_introspection_notes_when_the_resource_servers_token_was_last_used(client) -> None:
    app = with_patients(smart_app())
    issued = tokens_for(client, app)
    api_token, headers = _operator_token()
    assert api_token.last_used_at is None

    assert as_resource_server(client, headers, issued["access_token"])["active"] is True
    db.session.expire_all()
    first = db.session.get(ApiToken, api_token.id).last_used_at
    assert first is not None

    # At most once a minute: a busy resource server costs no write per call.
    assert as_resource_server(client, headers, issued["access_token"])["active"] is True
    db.session.expire_all()
    assert db.session.get(ApiToken, api_token.id).last_used_at == first


def _refuse_updates_of_api_tokens() -> None:
    """Make every update of `api_token` fail, as a full disk or a broken table would."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            sa.text(
                "CREATE TRIGGER api_token_frozen BEFORE UPDATE ON api_token "
                "BEGIN SELECT RAISE(ABORT, 'frozen'); END"
            )
        )
        return
    db.session.execute(
        sa.text(
            "CREATE FUNCTION api_token_frozen() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'frozen'; END $$ LANGUAGE plpgsql"
        )
    )
    db.session.execute(
        sa.text(
            "CREATE TRIGGER api_token_frozen BEFORE UPDATE ON api_token "
            "FOR EACH ROW EXECUTE FUNCTION api_token_frozen()"
        )
    )


def test_a_last_use_the_database_refuses_costs_the_answer_nothing(client) -> None:
    app = with_patients(smart_app())
    issued = tokens_for(client, app)
    api_token, headers = _operator_token()
    _refuse_updates_of_api_tokens()
    db.session.flush()

    body = as_resource_server(client, headers, issued["access_token"])

    assert body["active"] is True
    assert body["client_id"] == app.client_id
    db.session.expire_all()
    assert db.session.get(ApiToken, api_token.id).last_used_at is None


# --- on SQLite, readers beside each other ---------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "shares"),
    [
        ("POST", "/oauth/introspect", True),
        # A client authenticating with an assertion spends its jti: a write after reads.
        ("POST", "/oauth/introspect?with=client_assertion", False),
        ("GET", "/oauth/userinfo", True),
        ("GET", "/oauth/jwks", True),
        ("GET", "/fhir/{tenant}/.well-known/smart-configuration", True),
        ("POST", "/oauth/revoke", False),  # it writes what it read
        ("POST", "/oauth/token", False),
    ],
)
def test_only_the_endpoints_that_read_share_sqlites_lock(client, method, path, shares) -> None:
    """Their transactions begin without the write lock (torget.db.reads_without_write_lock)."""
    app = smart_app()
    seen: list[bool] = []

    def note(sender: Flask, **extra: object) -> None:
        seen.append(bool(g.get("torget_shares_read")))

    form = {"token": "x", "client_assertion": "a.b.c"} if "client_assertion" in path else {}
    with request_finished.connected_to(note, client.application):
        client.open(path.format(tenant=app.tenant.slug), method=method, data=form)

    assert seen == [shares]
