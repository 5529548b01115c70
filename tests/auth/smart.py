"""Test support for the authorization server: a SMART app enabled in a municipality,
PKCE pairs, and the browser side of the authorization code flow on the Flask test client.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient

from accounts.models import User
from catalog import credentials
from catalog.models import Client, ClientType, Environment, Release, ReleaseState
from marketplace import enablements, terms
from marketplace.enablements import Access
from marketplace.models import Tenant
from tests.conftest import csrf_token, login
from tests.factories.accounts import PASSWORD
from tests.factories.catalog import ReleaseFactory, member_of
from tests.factories.marketplace import TenantFactory, admin_of, clinician_of

REDIRECT_URI = "https://app.example/callback"
REGISTERED = (
    "launch launch/patient launch/encounter openid fhirUser profile offline_access "
    "online_access patient/Observation.rs patient/Patient.r user/Patient.rs"
)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


@dataclass
class SmartApp:
    tenant: Tenant
    release: Release
    client: Client
    clinician: User
    secret: str | None = None
    verifier: str = ""
    challenge: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def client_id(self) -> str:
        return self.client.client_id

    @property
    def aud(self) -> str:
        return f"http://127.0.0.1:5000/fhir/{self.tenant.slug}"

    def params(
        self, scope: str = "openid fhirUser launch/patient patient/Observation.rs", **extra: str
    ) -> dict[str, str]:
        self.verifier, self.challenge = pkce()
        values = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": "st-" + secrets.token_hex(4),
            "aud": self.aud,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
        }
        values.update(extra)
        return {k: v for k, v in values.items() if v is not None}


def smart_app(
    *,
    client_type: ClientType = ClientType.PUBLIC,
    registered: str = REGISTERED,
    approved: str | None = None,
    roles: tuple[str, ...] = ("clinician",),
    tenant: Tenant | None = None,
    hpr_number: str | None = "1234567",
    **release_fields: object,
) -> SmartApp:
    """A certified release, its production client, enabled in a municipality with a clinician
    (whose HPR number is `hpr_number`: one person, so one account per municipality)."""
    release = ReleaseFactory(
        state=ReleaseState.CERTIFIED,
        client_type=client_type,
        scopes=registered,
        redirect_uris=[REDIRECT_URI],
        **release_fields,
    )
    client = credentials.ensure_client(release.application, Environment.PRODUCTION)
    tenant = tenant or TenantFactory()
    enablements.enable(
        tenant,
        release.application,
        Access((approved or registered).split(), list(roles)),
        terms_version=terms.VERSION,
        by=admin_of(tenant),
    )
    app = SmartApp(tenant, release, client, clinician_of(tenant, hpr_number=hpr_number))
    if client_type == ClientType.CONFIDENTIAL_SECRET:
        app.secret = credentials.create_secret(client, by=_vendor_member(release)).value
    return app


def _vendor_member(release: Release) -> User:
    return member_of(release.application.vendor)


def hidden_fields(html: str) -> dict[str, str]:
    import html as html_lib

    return {name: html_lib.unescape(value) for name, value in _HIDDEN.findall(html)}


def consent(client: FlaskClient, app: SmartApp, params: dict[str, str]) -> str:
    """Open the authorization request as the signed-in clinician; the consent page's HTML."""
    page = client.get("/oauth/authorize", query_string=params)
    assert page.status_code == 200, page.get_data(as_text=True)[:2000]
    return page.get_data(as_text=True)


def approve(client: FlaskClient, params: dict[str, str], **choices: str) -> dict[str, list[str]]:
    """Approve on the consent page; the query of the redirect back to the app."""
    token = csrf_token(client, "/account")
    response = client.post(
        "/oauth/authorize", data={**params, **choices, "csrf_token": token, "decision": "approve"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return parse_qs(urlsplit(location).query)


def sign_in(client: FlaskClient, user: User) -> None:
    response = login(client, user.email, PASSWORD)
    assert response.status_code == 303, (
        response.status_code,
        response.get_data(as_text=True)[:1500],
    )


def code_for(
    client: FlaskClient,
    app: SmartApp,
    scope: str | None = None,
    launch: str | None = None,
    **choices: str,
) -> tuple[str, dict[str, str]]:
    """Sign in, consent, approve: the authorization code and the request's parameters."""
    sign_in(client, app.clinician)
    params = app.params(scope, launch=launch) if scope else app.params(launch=launch)
    consent(client, app, params)
    query = approve(client, params, **choices)
    assert query["state"] == [params["state"]]
    return query["code"][0], params


def redeem(client: FlaskClient, app: SmartApp, code: str, **extra: str) -> object:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": app.verifier,
        "client_id": app.client_id,
        **extra,
    }
    return client.post("/oauth/token", data=data)


# --- backend services and the journal system ------------------------------------------------

TOKEN_ENDPOINT = "http://127.0.0.1:5000/oauth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class KeyedClient:
    """A client that authenticates with private_key_jwt (ES384), and its signing key."""

    app: SmartApp
    private_key: object
    kid: str

    def assertion(self, **claims: object) -> str:
        import time
        import uuid

        import jwt

        now = int(time.time())
        body = {
            "iss": self.app.client_id,
            "sub": self.app.client_id,
            "aud": TOKEN_ENDPOINT,
            "exp": now + 240,
            "iat": now,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode(body, self.private_key, algorithm="ES384", headers={"kid": self.kid})

    def auth(self, **claims: object) -> dict[str, str]:
        return {
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(**claims),
        }


def keyed_client(client_type: ClientType, registered: str, **kwargs: object) -> KeyedClient:
    from cryptography.hazmat.primitives.asymmetric import ec
    from joserfc.jwk import ECKey

    private_key = ec.generate_private_key(ec.SECP384R1())
    kid = "key-" + secrets.token_hex(4)
    jwk = {
        **ECKey.import_key(private_key.public_key()).as_dict(private=False),
        "kid": kid,
        "alg": "ES384",
    }
    app = smart_app(client_type=client_type, registered=registered, jwks={"keys": [jwk]}, **kwargs)
    return KeyedClient(app, private_key, kid)


def epj(tenant: Tenant) -> KeyedClient:
    """A journal system (a backend service) the municipality lets create launches."""
    return keyed_client(
        ClientType.BACKEND,
        "system/launch system/Patient.rs",
        tenant=tenant,
        hpr_number=None,  # the apps' clinician of `tenant` holds the HPR number
        launch_url=None,
        launch_modes=[],
    )


def backend_token(client: FlaskClient, keyed: KeyedClient, scope: str) -> dict:
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": scope, **keyed.auth()},
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()
