"""Issuing tokens: signed JWT access tokens, ID tokens and rotated refresh tokens.

Access tokens are ES256 JWTs (architecture.md, "Tokens") carrying the launch
context and the enablement they were granted under, at most an hour. Each is
recorded by the hash of its `jti`, so revocation takes effect at once.
Refresh tokens are opaque, stored hashed, rotated on every use; reusing a
rotated one revokes the whole grant (RFC 9700 §4.14.2). Every token of one
authorization shares a `TokenGrant`, so one UPDATE revokes them all.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from sqlalchemy import insert, select, update

from accounts import sign_in
from accounts.models import User
from auth import keys
from auth.identity import fhir_user
from auth.models import AccessTokenRecord, AuthorizationCode, RefreshToken, TokenGrant
from auth.status import TokenStatus
from auth.urls import fhir_base, issuer
from marketplace.models import Tenant
from torget import tokens
from torget.db import db, spend_once, utcnow

ACCESS_TOKEN_LIFETIME = dt.timedelta(hours=1)
assert ACCESS_TOKEN_LIFETIME <= keys.ACCESS_TOKEN_MAX_LIFETIME  # noqa: S101 - a retired key outlives its tokens
ID_TOKEN_LIFETIME = dt.timedelta(minutes=5)
OFFLINE_REFRESH_LIFETIME = dt.timedelta(days=90)
REFRESH_PREFIX = "torget_rt_"
# How long a worker keeps signing with the key it last read: a rotation
# reaches every worker within this, and the retired key stays published an hour.
_SIGNER_TTL_SECONDS = 10.0


@dataclass(frozen=True)
class _Signer:
    kid: str
    key: Any  # a cryptography private key, imported once (not per token)
    read_at: float


_signer_lock = threading.Lock()
_signers: dict[str, _Signer] = {}  # by algorithm


def _current_signer(alg: str) -> _Signer:
    signer = _signers.get(alg)
    now = time.monotonic()
    if signer is not None and now - signer.read_at < _SIGNER_TTL_SECONDS:
        return signer
    # The ID token key may be missing on an instance older than RS256 ID tokens.
    key = keys.current(alg) if alg == keys.ALGORITHM else keys.ensure(alg)
    with _signer_lock:
        signer = _signers.get(alg)
        if signer is not None and signer.kid == key.kid:
            signer = _Signer(key.kid, signer.key, now)
        else:
            signer = _Signer(key.kid, jwt.PyJWK(keys.private_jwk(key)).key, now)
        _signers[alg] = signer
        return signer


def forget_signer() -> None:
    """Read the signing keys again at the next token (after a rotation in this process)."""
    with _signer_lock:
        _signers.clear()


def sign(claims: dict[str, Any], alg: str = keys.ALGORITHM) -> str:
    """A signed JWT: an access token (typ at+jwt, RFC 9068) when it names a client_id."""
    signer = _current_signer(alg)
    return jwt.encode(
        claims,
        signer.key,
        algorithm=alg,
        headers={"kid": signer.kid, "typ": "at+jwt" if "client_id" in claims else "JWT"},
    )


# One per token, read back only by its jti: a plain INSERT, built once.
_RECORD_ACCESS_TOKEN = insert(AccessTokenRecord)


@dataclass(frozen=True)
class Issued:
    response: dict[str, Any]
    """The token response body (RFC 6749 §5.1 plus SMART's launch context)."""


def _context_claims(grant: TokenGrant) -> dict[str, Any]:
    context: dict[str, Any] = {}
    if grant.patient:
        context["patient"] = grant.patient
    if grant.encounter:
        context["encounter"] = grant.encounter
    if grant.fhir_context:
        context["fhirContext"] = list(grant.fhir_context)
    return context


def issue(
    grant: TokenGrant,
    *,
    scope: str,
    refresh: bool,
    smart_style_url: str | None = None,
    refresh_scope: str | None = None,
    now: dt.datetime | None = None,
) -> Issued:
    """An access token for `grant` within `scope` (and a refresh token, an ID token).

    `refresh_scope`: the new refresh token's, when a refresh narrowed `scope`
    (RFC 6749 §6: it keeps the scope of the refresh token it replaces).
    """
    now = now or utcnow()
    tenant = grant.tenant
    base = fhir_base(tenant.slug)
    user = db.session.get(User, grant.user_id) if grant.user_id else None
    expires = now + ACCESS_TOKEN_LIFETIME
    jti = uuid.uuid4().hex
    granted = scope.split()
    claims: dict[str, Any] = {
        "iss": issuer(),
        "aud": base,
        "sub": f"user-{user.id}" if user else grant.client_id,
        "client_id": grant.client_id,
        "scope": scope,
        "jti": jti,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "tenant": tenant.slug,
        **_context_claims(grant),
    }
    if grant.enablement_id:
        claims["enablement"] = grant.enablement_id
    if user is not None and "fhirUser" in granted:
        claims["fhirUser"] = fhir_user(user, base)
    db.session.connection().execute(
        _RECORD_ACCESS_TOKEN,
        {"jti_hash": tokens.digest(jti), "grant_id": grant.id, "expires_at": expires},
    )
    response: dict[str, Any] = {
        "access_token": sign(claims),
        "token_type": "Bearer",
        "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        "scope": scope,
        # SMART: the launch context is top-level in the response, not only in the token.
        **_context_claims(grant),
    }
    if grant.user_id is not None:
        response["need_patient_banner"] = grant.need_patient_banner
        if smart_style_url:
            response["smart_style_url"] = smart_style_url
    if grant.intent:
        response["intent"] = grant.intent
    if user is not None and "openid" in granted:
        response["id_token"] = _id_token(grant, user, base, granted, now)
    if refresh and grant.user_id is not None:
        response["refresh_token"] = _new_refresh_token(grant, refresh_scope or scope, now)
    return Issued(response)


def _id_token(
    grant: TokenGrant, user: User, base: str, granted: list[str], now: dt.datetime
) -> str:
    claims: dict[str, Any] = {
        "iss": issuer(),
        "sub": f"user-{user.id}",
        "aud": grant.client_id,
        "iat": int(now.timestamp()),
        "exp": int((now + ID_TOKEN_LIFETIME).timestamp()),
    }
    if grant.auth_time:
        claims["auth_time"] = int(grant.auth_time.timestamp())
    if grant.nonce:
        claims["nonce"] = grant.nonce
    if "fhirUser" in granted:
        claims["fhirUser"] = fhir_user(user, base)
    if "profile" in granted:
        claims["name"] = user.display_name
    return sign(claims, keys.ID_TOKEN_ALGORITHM)


def _refresh_expiry(grant: TokenGrant, scope: str, now: dt.datetime) -> dt.datetime:
    if "offline_access" in scope.split():
        return now + OFFLINE_REFRESH_LIFETIME
    # online_access: no longer than the sign-in session it came from.
    session = sign_in.live_session(grant.login_session_id)
    if session is None:
        return now
    return min(session.expires_at, now + OFFLINE_REFRESH_LIFETIME)


def wants_refresh(scope: str) -> bool:
    granted = scope.split()
    return "offline_access" in granted or "online_access" in granted


def _new_refresh_token(grant: TokenGrant, scope: str, now: dt.datetime) -> str:
    value = tokens.new(REFRESH_PREFIX)
    db.session.add(
        RefreshToken(
            token_hash=tokens.digest(value),
            grant_id=grant.id,
            scope=scope,
            created_at=now,
            expires_at=_refresh_expiry(grant, scope, now),
        )
    )
    return value


class RefreshRefused(Exception):
    """The refresh token is unknown, expired, revoked, another client's, or reused."""

    def __init__(self, description: str, *, reused_grant: int | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.reused_grant = reused_grant


def spend_refresh_token(
    value: str, *, client_id: str, now: dt.datetime | None = None
) -> RefreshToken:
    """The refresh token behind `value`, now used (rotated); its reuse revokes its grant.

    One conditional UPDATE decides, as for codes: of two racing uses exactly
    one finds it unused. The loser, or any later use, is a reuse.
    """
    now = now or utcnow()
    live_grants = select(TokenGrant.id).where(
        TokenGrant.client_id == client_id, TokenGrant.revoked_at.is_(None)
    )
    spent, token = spend_once(
        RefreshToken.token_hash,
        tokens.digest(value or ""),
        RefreshToken.revoked_at.is_(None),
        RefreshToken.expires_at > now,
        RefreshToken.grant_id.in_(live_grants),
        now=now,
    )
    if spent:
        return token
    if token is not None and token.used_at is not None:
        grant = db.session.get(TokenGrant, token.grant_id)
        if grant is not None and grant.client_id == client_id:
            raise RefreshRefused(
                "The refresh token was already used: every token of this grant is revoked.",
                reused_grant=grant.id,
            )
    raise RefreshRefused("The refresh token is not valid.")


def revoke_grant(grant_id: int, reason: str, now: dt.datetime | None = None) -> None:
    """Revoke a grant and every access and refresh token issued under it."""
    now = now or utcnow()
    db.session.execute(
        update(TokenGrant)
        .where(TokenGrant.id == grant_id, TokenGrant.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason[:64])
        .execution_options(synchronize_session=False)
    )
    for model in (AccessTokenRecord, RefreshToken):
        db.session.execute(
            update(model)
            .where(model.grant_id == grant_id, model.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )


def revoke_token(found: TokenStatus, now: dt.datetime | None = None) -> None:
    """RFC 7009: a refresh token takes its whole grant with it; an access token only itself."""
    assert found.facts is not None  # noqa: S101 - an active token has its grant
    if found.kind == "refresh_token":
        revoke_grant(found.facts.grant_id, "revoked by client", now)
        return
    db.session.execute(
        update(AccessTokenRecord)
        .where(AccessTokenRecord.jti_hash == tokens.digest(found.claims["jti"]))
        .values(revoked_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )


def tenant_of_credential(grant_type: str, value: str | None) -> Tenant | None:
    """The municipality the code or refresh token `value` was granted in, if it is one of ours."""
    if not value:
        return None
    if grant_type == "authorization_code":
        key = AuthorizationCode.code_hash
    elif grant_type == "refresh_token":
        key = RefreshToken.token_hash
    else:
        return None
    grant_id = db.session.scalar(select(key.class_.grant_id).where(key == tokens.digest(value)))
    grant = db.session.get(TokenGrant, grant_id) if grant_id else None
    return db.session.get(Tenant, grant.tenant_id) if grant else None
