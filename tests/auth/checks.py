"""Steps and checks the token, introspection and launch tests share.

`refused()` asserts an RFC 6749 §5.2 refusal that issued nothing and wrote
nothing but its audit event; `state_of_the_database()` is what it compares.
"""

from __future__ import annotations

import base64
from typing import Any

import jwt
import sqlalchemy as sa
from flask.testing import FlaskClient

from auth.models import AuthEvent, AuthorizationCode, RefreshToken
from marketplace import enablements
from marketplace.models import UsageDay
from tests.auth.smart import REDIRECT_URI, KeyedClient, SmartApp, code_for, redeem
from tests.factories.gateway import add_patient
from torget.db import db

ISSUER = "http://127.0.0.1:5000"
STANDALONE = "openid fhirUser launch/patient patient/Observation.rs offline_access"
# Rows a refusal may add: its own audit event (and a rate limit's count).
_AUDIT_TABLES = {"auth_event", "rate_limit_window"}


def state_of_the_database() -> dict[str, int]:
    """What a refusal must leave as it was: rows of every table, spent credentials, usage."""
    counts = {
        table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
        for table in db.metadata.sorted_tables
        if table.name not in _AUDIT_TABLES
    }
    counts["spent codes"] = db.session.scalar(
        sa.select(sa.func.count()).where(AuthorizationCode.used_at.is_not(None))
    )
    counts["spent refresh tokens"] = db.session.scalar(
        sa.select(sa.func.count()).where(RefreshToken.used_at.is_not(None))
    )
    counts["tokens counted"] = db.session.scalar(sa.select(sa.func.sum(UsageDay.tokens))) or 0
    return counts


def refused(
    response: Any, error: str, status: int, before: dict[str, int], endpoint: str = "token"
) -> dict[str, Any]:
    """Assert an RFC 6749 §5.2 refusal that issued nothing and wrote only its audit event."""
    body = response.get_json()
    assert (response.status_code, body.get("error")) == (status, error), body
    assert not {"access_token", "refresh_token", "id_token", "launch"} & set(body)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert state_of_the_database() == before
    event = db.session.scalars(sa.select(AuthEvent).order_by(AuthEvent.id.desc())).first()
    assert event is not None
    assert (event.endpoint, event.outcome) == (endpoint, error)
    return body


def verified(client: FlaskClient, token: str, audience: str, alg: str = "ES256") -> dict[str, Any]:
    """The claims of `token`, checked as a resource server does: with a key from /oauth/jwks.

    Access tokens are signed with ES256, ID tokens with RS256 (OpenID Connect's default).
    """
    header = jwt.get_unverified_header(token)
    assert header["alg"] == alg
    assert header["kid"]
    published = jwt.PyJWKSet.from_dict(client.get("/oauth/jwks").get_json())
    return jwt.decode(
        token,
        published[header["kid"]].key,
        algorithms=[alg],
        audience=audience,
        issuer=ISSUER,
        options={"require": ["iss", "aud", "sub", "exp", "iat"]},
    )


def with_patients(app: SmartApp) -> SmartApp:
    add_patient(tenant_id=app.tenant.id, fhir_id="pas-1", name="Kari Nordmann")
    db.session.flush()  # visible to the requests, which run on the test's connection
    return app


def tokens_for(client: FlaskClient, app: SmartApp, scope: str = STANDALONE, **extra: str) -> dict:
    """Consent to `scope` for patient pas-1 and redeem the code: the token response."""
    code, _params = code_for(client, app, scope=scope, patient="pas-1")
    response = redeem(client, app, code, **extra)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def introspect(client: FlaskClient, app: SmartApp, token: str) -> dict[str, Any]:
    """RFC 7662, asked by the (public) client the token was issued to."""
    response = client.post("/oauth/introspect", data={"token": token, "client_id": app.client_id})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def refresh(client: FlaskClient, app: SmartApp, token: str, **extra: str) -> Any:
    data = {
        "grant_type": "refresh_token",
        "refresh_token": token,
        "client_id": app.client_id,
        **extra,
    }
    return client.post("/oauth/token", data=data)


def basic(client_id: str, secret: str) -> dict[str, str]:
    pair = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def secret_redeem(client: FlaskClient, app: SmartApp, code: str, **headers: str) -> Any:
    """Redeem with client_secret_basic: the client names itself in the header only."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": app.verifier,
    }
    return client.post("/oauth/token", data=data, headers=headers)


def backend(client: FlaskClient, keyed: KeyedClient, scope: str, **extra: str) -> Any:
    data = {"grant_type": "client_credentials", "scope": scope, **keyed.auth(), **extra}
    return client.post("/oauth/token", data=data)


def enablement_of(app: SmartApp) -> Any:
    return enablements.find(app.tenant, app.release.application)
