"""The OAuth 2.0 authorization server on Authlib, and where Torget overrides its defaults.

Authlib parses requests, dispatches grants and shapes errors. Its defaults fall
short of RFC 9700 and SMART App Launch 2.2 in five places, each overridden here
at Authlib's hooks (and each proven by a test in tests/auth/):

1. PKCE: Authlib accepts `plain` and defaults to it, and requires PKCE only of
   public clients. `S256Only` requires S256 of every client and refuses plain.
2. Codes: Authlib deletes a used code only after the token is saved, so two
   nodes can redeem one code. `CodeGrant.query_authorization_code` spends the
   code with one conditional UPDATE before anything is issued; a replay
   revokes what the first redemption was issued.
3. Refresh tokens: Authlib does not rotate them. `RefreshGrant` issues a new
   one on every use and spends the old one the same way as a code; reuse
   revokes the grant (the token family).
4. Client assertions: Authlib leaves `jti` replay to the integrator.
   `auth.assertions` records each `jti` under a unique constraint.
5. Refresh scopes: Authlib compares scope strings; a refresh here may narrow
   by scope semantics and re-applies the grant rule, so a municipality's
   withdrawal shows at the next refresh.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, g
from sqlalchemy import insert, select

from accounts import sign_in
from accounts.models import User
from auth import clients, issuing, status
from auth.grants import Launcher, grant_scopes
from auth.models import AuthorizationCode, RefreshToken, TokenGrant
from auth.urls import smart_style_url, tenant_for_base
from catalog import scopes as scope_rules
from catalog.models import ClientSecret, ClientType
from marketplace import enablements
from marketplace.models import Enablement, Tenant
from torget import tokens
from torget.db import db, spend_once, utcnow
from torget.errors import Invalid

CODE_LIFETIME = dt.timedelta(seconds=60)


class ReplayRevokes(InvalidGrantError):
    """invalid_grant, after which the grant a replayed credential came from is revoked.

    The view rolls the request back (nothing else it began is kept), then
    revokes `grant_id` and audits: a replay must not be undone by the refusal.
    """

    def __init__(self, description: str, grant_id: int) -> None:
        super().__init__(description=description)
        self.grant_id = grant_id


# --- 1. PKCE: S256, for every client --------------------------------------------------------


class S256Only(CodeChallenge):
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012 - Authlib's class attribute
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError(
                "PKCE is required: send code_challenge and code_challenge_method=S256."
            )
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256; plain is refused.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            # Authlib asks this of public clients only; RFC 9700 §2.1.1 of every client.
            raise InvalidRequestError("Missing 'code_verifier'.")
        super().validate_code_verifier(grant, result)

    def get_authorization_code_challenge(self, authorization_code: Any) -> str:
        return authorization_code.code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: Any) -> str:
        return "S256"


# --- what the authorize view hands the code grant -------------------------------------------


@dataclass
class PendingAuthorization:
    """Everything a code will stand for, decided by the authorize view before the code exists."""

    tenant: Tenant
    user: User
    launcher: Launcher
    scope: str
    enablement: Enablement | None
    login_session_id: int | None
    patient: str | None = None
    encounter: str | None = None
    intent: str | None = None
    fhir_context: list[dict[str, Any]] = field(default_factory=list)
    need_patient_banner: bool = True
    nonce: str | None = None


@dataclass
class _Code:
    """An AuthorizationCode as Authlib's grant reads it."""

    code: AuthorizationCode
    grant: TokenGrant

    def get_redirect_uri(self) -> str:
        return self.code.redirect_uri

    def get_scope(self) -> str:
        return self.grant.scope


# --- 2. codes, spent by one conditional UPDATE -----------------------------------------------


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = clients.ALL_AUTH_METHODS
    AUTHORIZATION_CODE_LENGTH = 43

    def save_authorization_code(self, code: str, request: Any) -> None:
        pending: PendingAuthorization = g.oauth_pending
        now = utcnow()
        grant = TokenGrant(
            client_id=request.client.get_client_id(),
            tenant=pending.tenant,
            user_id=pending.user.id,
            enablement_id=pending.enablement.id if pending.enablement else None,
            release_id=request.client.release.id,
            launcher=pending.launcher.value,
            scope=pending.scope,
            patient=pending.patient,
            encounter=pending.encounter,
            intent=pending.intent,
            fhir_context=pending.fhir_context,
            need_patient_banner=pending.need_patient_banner,
            nonce=pending.nonce,
            auth_time=now,
            login_session_id=pending.login_session_id,
            created_at=now,
        )
        db.session.add(grant)
        db.session.flush()  # generate grant.id
        db.session.add(
            AuthorizationCode(
                code_hash=tokens.digest(code),
                client_id=grant.client_id,
                redirect_uri=request.payload.redirect_uri,
                code_challenge=request.payload.data["code_challenge"],
                grant_id=grant.id,
                created_at=now,
                expires_at=now + CODE_LIFETIME,
            )
        )

    def query_authorization_code(self, code: str, client: Any) -> _Code | None:
        now = utcnow()
        spent, row = spend_once(
            AuthorizationCode.code_hash,
            tokens.digest(code),
            AuthorizationCode.client_id == client.get_client_id(),
            AuthorizationCode.expires_at > now,
            now=now,
        )
        if spent:
            grant = row.grant
            if grant.revoked_at is not None:
                return None
            return _Code(row, grant)
        if row is not None and row.used_at is not None and row.client_id == client.get_client_id():
            raise ReplayRevokes(
                "The code was already used: the tokens issued for it are revoked.", row.grant_id
            )
        return None  # unknown, expired, or another client's: invalid_grant

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        pass  # spent in query_authorization_code, before any token existed

    def authenticate_user(self, authorization_code: _Code) -> User | None:
        user = db.session.get(User, authorization_code.grant.user_id)
        return user if user is not None and user.is_active else None

    def generate_token(self, user: Any = None, scope: Any = None, **_: Any) -> dict[str, Any]:
        code: _Code = self.request.authorization_code
        grant = code.grant
        _check_still_allowed(grant)
        if getattr(self.request.client, "secret_id", None):
            grant.client_secret_id = self.request.client.secret_id
        g.oauth_grant = grant
        return issuing.issue(
            grant,
            scope=grant.scope,
            refresh=issuing.wants_refresh(grant.scope),
            smart_style_url=smart_style_url(),
        ).response


def _check_still_allowed(grant: TokenGrant) -> enablements.LaunchDecision:
    """A disable or suspension between consent and redemption: no token."""
    tenant = db.session.get(Tenant, grant.tenant_id)
    decision = enablements.launch_policy(grant.client_id, tenant.slug if tenant else "")
    if not decision.allowed:
        raise InvalidGrantError(description=clients.error_description(decision.reason))
    if status.ended_by_stop(grant, decision):
        raise InvalidGrantError(
            description="The app was disabled or its release suspended since: authorize it again."
        )
    return decision


# --- 3. refresh tokens, rotated -------------------------------------------------------------


@dataclass
class _Refresh:
    token: RefreshToken
    grant: TokenGrant

    def check_client(self, client: Any) -> bool:
        return self.grant.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.token.scope


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = clients.ALL_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> _Refresh | None:
        try:
            token = issuing.spend_refresh_token(
                refresh_token, client_id=self.request.client.get_client_id()
            )
        except issuing.RefreshRefused as refused:
            if refused.reused_grant is not None:
                raise ReplayRevokes(refused.description, refused.reused_grant) from None
            raise InvalidGrantError(description=refused.description) from None
        grant = db.session.get(TokenGrant, token.grant_id)
        if grant is None or grant.revoked_at is not None:
            return None
        secret = (
            db.session.get(ClientSecret, grant.client_secret_id) if grant.client_secret_id else None
        )
        if secret is not None and not secret.is_live(utcnow()):
            # Its tokens died with the secret (auth.status): another secret of the
            # same client must not mint live-looking ones from them.
            raise InvalidGrantError(
                description="The client secret this grant was issued on is revoked."
            )
        if (
            "offline_access" not in token.scope.split()
            and sign_in.live_session(grant.login_session_id) is None
        ):
            raise InvalidGrantError(description="online_access ended with the user's session.")
        return _Refresh(token, grant)

    def _validate_token_scope(self, token: _Refresh) -> None:
        requested = self.request.payload.scope
        if not requested:
            return
        try:
            wanted = scope_rules.parse_scopes(requested, field="scope")
        except Invalid as error:
            raise InvalidScopeError(description=clients.error_description(error.detail)) from None
        held = scope_rules.parse_scopes(token.get_scope(), field="scope")
        if any(not any(scope_rules.covers(h, w) for h in held) for w in wanted):
            raise InvalidScopeError(
                description="A refresh can narrow the scopes, never widen them."
            )

    def authenticate_user(self, refresh_token: _Refresh) -> User | None:
        user = db.session.get(User, refresh_token.grant.user_id)
        return user if user is not None and user.is_active else None

    def issue_token(self, user: User, refresh_token: _Refresh) -> dict[str, Any]:
        grant = refresh_token.grant
        decision = _check_still_allowed(grant)
        requested = self.request.payload.scope or refresh_token.get_scope()
        # The grant rule again: what the municipality approves now, the release it runs now.
        regranted = grant_scopes(
            requested,
            registered=decision.release.scopes if decision.release else "",
            approved=decision.scopes,
            launcher=Launcher(grant.launcher),
            patient_in_context=grant.patient is not None,
        )
        if not regranted.granted:
            raise InvalidScopeError(description="Nothing the app asked for is approved any more.")
        # RFC 6749 §6: narrowing one access token leaves the refresh token's scope
        # as it was (less what the municipality withdrew meanwhile).
        kept = grant_scopes(
            refresh_token.get_scope(),
            registered=decision.release.scopes if decision.release else "",
            approved=decision.scopes,
            launcher=Launcher(grant.launcher),
            patient_in_context=grant.patient is not None,
        )
        g.oauth_grant = grant
        return issuing.issue(
            grant, scope=regranted.scope, refresh=True, refresh_scope=kept.scope
        ).response

    def revoke_old_credential(self, refresh_token: _Refresh) -> None:
        pass  # spent in authenticate_refresh_token


# --- backend services -----------------------------------------------------------------------


_INSERT_GRANT = insert(TokenGrant).returning(TokenGrant.id)


class BackendGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt"]  # noqa: RUF012

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError(
                description="Only a backend service may use client_credentials."
            )
        self.request.client = client
        tenant = _backend_tenant(client, self.request.payload.data)
        decision = enablements.launch_policy(client.get_client_id(), tenant.slug)
        if not decision.allowed or decision.release is None:
            raise UnauthorizedClientError(description=clients.error_description(decision.reason))
        requested = self.request.payload.scope or ""
        granted = grant_scopes(
            requested,
            registered=decision.release.scopes,
            approved=decision.scopes,
            launcher=Launcher.SYSTEM,
            patient_in_context=False,
        )
        if not granted.granted:
            raise InvalidScopeError(
                description=clients.error_description(
                    "None of the requested scopes is registered and approved: "
                    + "; ".join(f"{d.scope}: {d.reason}" for d in granted.dropped[:5])
                )[:500]
            )
        values = {
            "client_id": client.get_client_id(),
            "tenant_id": tenant.id,
            "user_id": None,
            "enablement_id": decision.enablement.id if decision.enablement else None,
            "release_id": decision.release.id,
            "launcher": Launcher.SYSTEM.value,
            "scope": granted.scope,
            "client_secret_id": None,
            "fhir_context": [],
            "created_at": utcnow(),
        }
        # A plain INSERT: the grant of a backend token is written once and never
        # changed in this request, so the ORM's unit of work would add only time.
        # The model below is a detached copy for issuing, not added to the session.
        grant_id = db.session.connection().execute(_INSERT_GRANT, values).scalar_one()
        g.oauth_grant = TokenGrant(id=grant_id, tenant=tenant, **values)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        grant: TokenGrant = g.oauth_grant
        issued = issuing.issue(grant, scope=grant.scope, refresh=False)
        return 200, issued.response, self.TOKEN_RESPONSE_HEADER


def _backend_tenant(client: Any, data: Any) -> Tenant:
    """The municipality a backend token is for: `resource` (RFC 8707) or `aud`, else its one."""
    named = data.get("resource") or data.get("aud")
    if named:
        tenant = tenant_for_base(named)
        if tenant is None:
            raise InvalidRequestError("resource (or aud) must be a FHIR base of this server.")
        return tenant
    tenants = db.session.scalars(
        select(Tenant)
        .join(Enablement, Enablement.tenant_id == Tenant.id)
        .where(Enablement.application_id == client.client.application_id)
    ).all()
    if client.client.environment.value == "sandbox" or len(tenants) != 1:
        raise InvalidRequestError(
            "Name the municipality: resource=<its FHIR base>, e.g. "
            "resource=https://torget.example/fhir/oslo."
        )
    return tenants[0]


# --- the server ------------------------------------------------------------------------------


class TorgetAuthorizationServer(AuthorizationServer):
    def query_client(self, client_id: str) -> clients.OAuthClient | None:
        return clients.load(client_id)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        pass  # issuing.issue recorded it


def create_server(app: Flask) -> TorgetAuthorizationServer:
    server = TorgetAuthorizationServer()
    server.init_app(app)
    for method, func in clients.AUTH_METHOD_FUNCTIONS.items():
        server.register_client_auth_method(method, func)
    server.register_grant(CodeGrant, [S256Only(required=True)])
    server.register_grant(RefreshGrant)
    server.register_grant(BackendGrant)
    app.extensions["torget_oauth"] = server
    return server


def is_public(client: clients.OAuthClient) -> bool:
    return client.client_type == ClientType.PUBLIC
