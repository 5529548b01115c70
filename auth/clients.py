"""OAuth clients as the authorization server sees them: a catalog client and its release.

What a client may do comes from a certified release: its type (public,
secret, key, backend), redirect URIs, scopes and launch modes. A
municipality may stay on an older release than the newest certified one, so
where the tenant is known the release is the one `launch_policy` names.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from flask import g

from auth import assertions
from auth.urls import endpoint
from catalog import credentials
from catalog.models import Client, ClientType, Release
from marketplace import enablements
from marketplace.models import Tenant

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

_AUTH_METHODS = {
    ClientType.PUBLIC: frozenset({"none"}),
    ClientType.CONFIDENTIAL_SECRET: frozenset({"client_secret_basic", "client_secret_post"}),
    ClientType.CONFIDENTIAL_KEY: frozenset({"private_key_jwt"}),
    ClientType.BACKEND: frozenset({"private_key_jwt"}),
}
ALL_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
# RFC 6749 §5.2 allows an error_description printable ASCII only, without '"' or '\';
# Authlib raises ValueError (a 500) on anything else. Our reasons are in bokmål
# and may quote what the client sent (a scope, a kid).
_TO_ASCII = str.maketrans(
    {"æ": "ae", "ø": "oe", "å": "aa", "Æ": "Ae", "Ø": "Oe", "Å": "Aa", '"': "'", "\\": "/"}
)


def error_description(text: str) -> str:
    """`text` as an OAuth error may carry it: printable ASCII (RFC 6749 §5.2)."""
    plain = unicodedata.normalize("NFKD", str(text).translate(_TO_ASCII))
    return "".join(c for c in plain if " " <= c <= "~")


@dataclass
class OAuthClient(ClientMixin):
    client: Client
    release: Release
    secret_id: int | None = field(default=None)  # the secret it authenticated with, if any

    @property
    def client_id(self) -> str:
        return self.client.client_id

    @property
    def client_type(self) -> ClientType:
        return self.release.client_type

    def get_client_id(self) -> str:
        return self.client.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # SMART: the app names its redirect URI every time

    def get_allowed_scope(self, scope: str) -> str:
        return scope  # narrowed by the grant rule, not here

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # Exact string match (RFC 9700 §4.1.3): no prefix, case or slash leniency.
        return redirect_uri in (self.release.redirect_uris or [])

    def check_client_secret(self, client_secret: str) -> bool:
        return False  # secrets are checked by `authenticate_secret_*` below, hashed

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in _AUTH_METHODS[self.client_type]

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and self.client_type != ClientType.BACKEND

    def check_grant_type(self, grant_type: str) -> bool:
        if self.client_type == ClientType.BACKEND:
            return grant_type == "client_credentials"
        return grant_type in {"authorization_code", "refresh_token"}


def use_tenant(tenant: Tenant | None) -> None:
    """Make `load` pick the release this tenant runs (for the rest of the request)."""
    g.oauth_tenant = tenant
    g.pop("oauth_clients", None)


def load(
    client_id: str | None, *, known: Client | None = None, runs: Release | None = None
) -> OAuthClient | None:
    """The client and the release it runs (in this request's tenant, when known).

    `known`: the catalog client of `client_id`, when the caller has loaded it
    already; `runs`: its current release, likewise (used when no tenant is known).
    """
    if not client_id or len(client_id) > 64:
        return None
    cache: dict[str, OAuthClient | None] = g.setdefault("oauth_clients", {})
    if client_id in cache:
        return cache[client_id]
    client = (
        known
        if known is not None and known.client_id == client_id
        else credentials.find_by_client_id(client_id)
    )
    release = None
    if client is not None:
        tenant = g.get("oauth_tenant")
        if tenant is not None:
            release = enablements.launch_policy(client_id, tenant.slug).release
        release = release or runs or credentials.current_release(client)
    found = OAuthClient(client, release) if client is not None and release is not None else None
    cache[client_id] = found
    return found


# --- client authentication (registered with the Authlib server) -----------------------------


def authenticate_secret_basic(query_client: object, request: object) -> OAuthClient | None:
    client_id, secret = _basic_credentials(request.headers)  # type: ignore[attr-defined]
    return _by_secret(client_id, secret, status=401) if client_id and secret else None


def _basic_credentials(headers: Any) -> tuple[str | None, str | None]:
    """The client id and secret of an `Authorization: Basic` header (RFC 6749 §2.3.1)."""
    try:
        return extract_basic_authorization(headers)  # type: ignore[no-any-return]
    except ValueError:
        # Authlib's parser raises on a header of one word after a space (" Basic") and
        # on credentials that are not UTF-8: not Basic credentials, then.
        return None, None


def authenticate_secret_post(query_client: object, request: object) -> OAuthClient | None:
    form = request.form  # type: ignore[attr-defined]
    client_id, secret = form.get("client_id"), form.get("client_secret")
    return _by_secret(client_id, secret, status=400) if client_id and secret else None


def _by_secret(client_id: str, secret: str, *, status: int) -> OAuthClient:
    found = credentials.authenticate_secret(client_id, secret)
    client = load(client_id) if found is not None else None
    if found is None or client is None:
        raise InvalidClientError(status_code=status, description="Client authentication failed.")
    client.secret_id = found.id
    return client


def authenticate_none(query_client: object, request: object) -> OAuthClient | None:
    """A public client names itself and proves nothing but PKCE, which the grant checks."""
    payload = request.payload  # type: ignore[attr-defined]
    data = payload.data
    if data.get("client_secret") or data.get("client_assertion"):
        return None
    if request.headers.get("Authorization"):  # type: ignore[attr-defined]
        return None
    client = load(payload.client_id)
    if client is None:
        raise InvalidClientError(description="The client does not exist on this server.")
    return client


def authenticate_private_key_jwt(query_client: object, request: object) -> OAuthClient | None:
    form = request.form  # type: ignore[attr-defined]
    assertion = form.get("client_assertion")
    if not assertion:
        return None
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise InvalidClientError(description=f"client_assertion_type must be {ASSERTION_TYPE}.")
    try:
        client, release = assertions.verify_client_assertion(
            assertion, client_id=form.get("client_id") or None, token_endpoint=endpoint("token")
        )
    except assertions.AssertionRefused as refused:
        raise InvalidClientError(description=error_description(str(refused))) from None
    # The assertion's check loaded the client and its release: no need to select them again.
    found = load(client.client_id, known=client, runs=release)
    if found is None:
        raise InvalidClientError(description="The client has no release to run.")
    return found


AUTH_METHOD_FUNCTIONS = {
    "client_secret_basic": authenticate_secret_basic,
    "client_secret_post": authenticate_secret_post,
    "private_key_jwt": authenticate_private_key_jwt,
    "none": authenticate_none,
}
