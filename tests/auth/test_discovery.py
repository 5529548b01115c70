"""Discovery: SMART's `.well-known/smart-configuration` (SMART App Launch 2.2 §"Metadata"),
OpenID's (OIDC Discovery 1.0 §3), the FHIR base's CapabilityStatement, and CORS on every
endpoint a browser app calls from its own origin.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from auth import keys
from tests.auth.smart import backend_token, epj, smart_app
from tests.factories.marketplace import TenantFactory

ISSUER = "http://127.0.0.1:5000"
# What Torget does and its tests show: each capability it advertises is served.
CAPABILITIES = {
    "launch-ehr",
    "launch-standalone",
    "authorize-post",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "context-ehr-patient",
    "context-ehr-encounter",
    "context-standalone-patient",
    "context-standalone-encounter",
    "context-banner",
    "context-style",
    "permission-offline",
    "permission-online",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
    "sso-openid-connect",
}
# Every capability SMART App Launch 2.2 defines: a name outside these is a typo.
SMART_2_2_CAPABILITIES = CAPABILITIES | {"smart-app-state"}


@pytest.fixture(autouse=True)
def signing_key(db_session: None) -> None:
    keys.ensure_current()


def smart_configuration(client: FlaskClient, slug: str) -> dict:
    response = client.get(f"/fhir/{slug}/.well-known/smart-configuration")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    return response.get_json()


def path_of(url: str) -> str:
    """The path of one of this server's URLs (the test client speaks paths)."""
    assert url.startswith(ISSUER + "/"), url
    return urlsplit(url).path


# --- SMART --------------------------------------------------------------------------------------


def test_the_smart_configuration_has_what_smart_2_2_requires(client) -> None:
    tenant = TenantFactory()

    document = smart_configuration(client, tenant.organisation.slug)

    assert document["issuer"] == ISSUER
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        assert document[name].startswith(ISSUER + "/oauth/"), name
    assert set(document["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
    }
    assert set(document["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    }
    # SMART asks servers to accept RS384 and ES384 for private_key_jwt.
    assert {"RS384", "ES384"} <= set(document["token_endpoint_auth_signing_alg_values_supported"])
    assert "none" not in document["token_endpoint_auth_signing_alg_values_supported"]
    assert document["response_types_supported"] == ["code"]
    assert document["code_challenge_methods_supported"] == ["S256"]  # never plain
    assert set(document["capabilities"]) >= CAPABILITIES
    assert set(document["capabilities"]) <= SMART_2_2_CAPABILITIES
    scopes = set(document["scopes_supported"])
    assert {
        "openid",
        "fhirUser",
        "profile",
        "launch",
        "launch/patient",
        "launch/encounter",
        "offline_access",
        "online_access",
        "system/launch",
    } <= scopes
    assert document["introspection_endpoint"] == f"{ISSUER}/oauth/introspect"
    assert document["revocation_endpoint"] == f"{ISSUER}/oauth/revoke"
    assert document["userinfo_endpoint"] == f"{ISSUER}/oauth/userinfo"


def test_every_endpoint_the_smart_configuration_names_answers(client) -> None:
    document = smart_configuration(client, TenantFactory().organisation.slug)

    jwks = client.get(path_of(document["jwks_uri"]))
    assert jwks.status_code == 200
    assert {k["kid"] for k in jwks.get_json()["keys"]} == {
        keys.current("ES256").kid,  # access tokens
        keys.current("RS256").kid,  # ID tokens
    }
    assert all("d" not in k for k in jwks.get_json()["keys"])  # public halves only
    # Without a request the authorize endpoint says so on its own page (never a redirect).
    assert client.get(path_of(document["authorization_endpoint"])).status_code == 400
    token = client.post(path_of(document["token_endpoint"]), data={})
    assert (token.status_code, token.get_json()["error"]) == (400, "unsupported_grant_type")
    for name in ("introspection_endpoint", "revocation_endpoint"):
        answer = client.post(path_of(document[name]), data={"token": "x"})
        assert (answer.status_code, answer.get_json()["error"]) == (401, "invalid_client"), name
    userinfo = client.get(path_of(document["userinfo_endpoint"]))
    assert (userinfo.status_code, userinfo.get_json()["error"]) == (401, "invalid_token")


def test_every_municipality_has_the_same_server(client) -> None:
    oslo, bergen = TenantFactory(), TenantFactory()

    assert smart_configuration(client, oslo.organisation.slug) == smart_configuration(
        client, bergen.organisation.slug
    )


@pytest.mark.parametrize("slug", ["no-such-kommune", "Oslo", "-x", "a" * 64])
def test_a_base_that_is_no_municipality_has_no_configuration(client, slug) -> None:
    assert client.get(f"/fhir/{slug}/.well-known/smart-configuration").status_code == 404
    assert client.get(f"/fhir/{slug}/metadata").status_code == 404


# --- OpenID Connect ----------------------------------------------------------------------------


def test_the_openid_configuration_has_what_oidc_discovery_requires(client) -> None:
    response = client.get("/.well-known/openid-configuration")

    assert response.status_code == 200
    document = response.get_json()
    # OIDC Discovery §4.3: the issuer is the URL the document was fetched under.
    assert document["issuer"] == ISSUER
    for required in (
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
    ):
        assert document[required], required
    assert document["response_types_supported"] == ["code"]
    assert set(document["subject_types_supported"]) <= {"public", "pairwise"}
    # The algorithm ID tokens are signed with is the one published.
    # OpenID Connect Discovery §3: RS256 must be among them.
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "openid" in document["scopes_supported"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["authorization_response_iss_parameter_supported"] is True  # RFC 9207
    smart = smart_configuration(client, TenantFactory().organisation.slug)
    for shared in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
        assert document[shared] == smart[shared], shared
    assert client.get(path_of(document["userinfo_endpoint"])).status_code == 401


# --- the FHIR base ------------------------------------------------------------------------------

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def test_the_capability_statement_points_to_the_authorization_server(client) -> None:
    tenant = TenantFactory()
    slug = tenant.organisation.slug

    response = client.get(f"/fhir/{slug}/metadata")

    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    statement = response.get_json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    assert statement["implementation"]["url"] == f"{ISSUER}/fhir/{slug}"
    security = statement["rest"][0]["security"]
    codings = [c for s in security["service"] for c in s["coding"]]
    assert {"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
            "code": "SMART-on-FHIR"} in codings  # fmt: skip
    (oauth,) = [e for e in security["extension"] if e["url"] == OAUTH_URIS]
    uris = {e["url"]: e["valueUri"] for e in oauth["extension"]}
    smart = smart_configuration(client, slug)
    assert uris["authorize"] == smart["authorization_endpoint"]
    assert uris["token"] == smart["token_endpoint"]
    assert uris["introspect"] == smart["introspection_endpoint"]
    assert uris["revoke"] == smart["revocation_endpoint"]


# --- CORS ---------------------------------------------------------------------------------------

ORIGIN = {"Origin": "https://app.example"}


def test_browser_apps_may_read_discovery_and_keys_from_any_origin(client) -> None:
    slug = TenantFactory().organisation.slug
    for path in (
        f"/fhir/{slug}/.well-known/smart-configuration",
        "/.well-known/openid-configuration",
        f"/fhir/{slug}/metadata",
        "/oauth/jwks",
    ):
        response = client.get(path, headers=ORIGIN)
        assert response.status_code == 200, path
        assert response.headers["Access-Control-Allow-Origin"] == "*", path
        # No cookies cross origins here: a wildcard must never come with credentials.
        assert "Access-Control-Allow-Credentials" not in response.headers, path


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
def test_browser_apps_may_post_to_the_token_endpoints(client, path) -> None:
    preflight = client.options(
        path,
        headers={
            **ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed
    assert "content-type" in allowed

    answer = client.post(path, data={}, headers=ORIGIN)
    assert answer.status_code in (400, 401)
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in answer.headers


def test_a_token_response_is_readable_cross_origin(client) -> None:
    app = smart_app()
    journal = epj(app.tenant)
    token = backend_token(client, journal, "system/launch")["access_token"]

    introspected = client.post(
        "/oauth/introspect",
        data={"token": token, **journal.auth()},
        headers=ORIGIN,
    )
    assert introspected.get_json()["active"] is True
    assert introspected.headers["Access-Control-Allow-Origin"] == "*"
    userinfo = client.get("/oauth/userinfo", headers={**ORIGIN, "Authorization": "Bearer x"})
    assert userinfo.headers["Access-Control-Allow-Origin"] == "*"
