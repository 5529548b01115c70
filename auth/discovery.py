"""Discovery: SMART's `.well-known/smart-configuration` per FHIR base, OpenID's for the issuer.

They list only what works: every capability and endpoint named here is
served and tested (tests/auth/test_discovery.py checks the IG's required
fields against these documents).
"""

from __future__ import annotations

from typing import Any

from auth import keys
from auth.urls import endpoint, issuer
from catalog import scopes

CAPABILITIES = [
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
]
ASYMMETRIC_ALGORITHMS = ["RS384", "ES384", "RS256", "ES256", "RS512", "ES512", "PS384"]
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]


def scopes_supported() -> list[str]:
    return [
        *scopes.NAMED_SCOPES,
        *scopes.SYSTEM_NAMED_SCOPES,
        "patient/*.rs",
        "user/*.rs",
        "system/*.rs",
        "patient/*.read",
        "user/*.read",
        "system/*.read",
    ]


def smart_configuration() -> dict[str, Any]:
    """SMART App Launch 2.2 §"Metadata": the same for every municipality's base."""
    return {
        "issuer": issuer(),
        "jwks_uri": endpoint("jwks"),
        "authorization_endpoint": endpoint("authorize"),
        "token_endpoint": endpoint("token"),
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ASYMMETRIC_ALGORITHMS,
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "introspection_endpoint": endpoint("introspect"),
        "revocation_endpoint": endpoint("revoke"),
        "userinfo_endpoint": endpoint("userinfo"),
        "scopes_supported": scopes_supported(),
        "response_types_supported": ["code"],
        "capabilities": CAPABILITIES,
        "code_challenge_methods_supported": ["S256"],
    }


def openid_configuration() -> dict[str, Any]:
    """OpenID Connect Discovery 1.0 §3, for the code flow Torget supports."""
    return {
        "issuer": issuer(),
        "authorization_endpoint": endpoint("authorize"),
        "token_endpoint": endpoint("token"),
        "userinfo_endpoint": endpoint("userinfo"),
        "jwks_uri": endpoint("jwks"),
        "introspection_endpoint": endpoint("introspect"),
        "revocation_endpoint": endpoint("revoke"),
        "scopes_supported": ["openid", "fhirUser", "profile", "offline_access", "online_access"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [keys.ID_TOKEN_ALGORITHM],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ASYMMETRIC_ALGORITHMS,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "fhirUser",
            "name",
        ],
        "authorization_response_iss_parameter_supported": True,
    }
