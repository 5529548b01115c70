"""Is a token live now? The authoritative answer, read at introspection and UserInfo.

A token is inactive at once when it was revoked (itself or its grant), its
enablement was disabled, its release suspended or revoked, or the client
secret it was issued on revoked: the signature and expiry say nothing of
these, so the database is read every time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import jwt
from sqlalchemy import select

from accounts.models import User
from auth import keys
from auth.models import AccessTokenRecord, RefreshToken, TokenGrant
from auth.urls import issuer
from catalog.models import ClientSecret
from marketplace import enablements
from marketplace.models import Tenant
from torget import tokens
from torget.db import db, utcnow

# A token is a few hundred bytes; anything far larger is not one of ours.
MAX_TOKEN_LENGTH = 8192
_public_keys: dict[str, Any] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class TokenStatus:
    active: bool
    kind: str = ""  # "access_token" or "refresh_token"
    claims: dict[str, Any] = field(default_factory=dict)
    grant: TokenGrant | None = None
    tenant: Tenant | None = None  # the grant's, when loaded with it (spares a query)


INACTIVE = TokenStatus(active=False)


def forget_keys() -> None:
    """Read the published keys again (tests, whose databases come and go)."""
    with _lock:
        _public_keys.clear()


def _public_key(kid: str) -> Any | None:
    key = _public_keys.get(kid)
    if key is not None:
        return key
    for published in keys.published():
        if published.kid == kid:
            key = jwt.PyJWK(published.public_jwk).key
            with _lock:
                _public_keys[kid] = key
            return key
    return None


def verify_access_token(token: str) -> dict[str, Any] | None:
    """The claims of an access token Torget signed and that has not expired; else None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return None
    kid = header.get("kid")
    if header.get("alg") != keys.ALGORITHM or not isinstance(kid, str):
        return None
    key = _public_key(kid)
    if key is None:
        return None
    try:
        return jwt.decode(
            token,
            key,
            algorithms=[keys.ALGORITHM],
            issuer=issuer(),
            options={"verify_aud": False, "require": ["exp", "iat", "jti", "client_id"]},
        )
    except jwt.PyJWTError:
        return None


def grant_is_live(grant: TokenGrant | None) -> bool:
    """Whether tokens of `grant` may still be used: nothing revoked, disabled or suspended."""
    if grant is None or grant.revoked_at is not None:
        return False
    if grant.client_secret_id is not None:
        secret = db.session.get(ClientSecret, grant.client_secret_id)
        if secret is None or not secret.is_live(utcnow()):
            return False
    if grant.user_id is not None:
        user = db.session.get(User, grant.user_id)
        if user is None or not user.is_active:
            return False  # a deactivated user's apps stop with them
    tenant = db.session.get(Tenant, grant.tenant_id)
    if tenant is None:
        return False
    decision = enablements.launch_policy(grant.client_id, tenant.slug)
    return decision.allowed and not ended_by_disable(grant, decision)


def ended_by_disable(grant: TokenGrant, decision: enablements.LaunchDecision) -> bool:
    """Whether the app was disabled (and enabled again) since `grant`: a disable is for good.

    Enabling reuses the enablement row, so without this the tokens of before
    the disable would come back to life with it.
    """
    enablement = decision.enablement
    return enablement is not None and grant.created_at < enablement.enabled_at


def access_token_status(token: str) -> TokenStatus:
    claims = verify_access_token(token)
    if claims is None:
        return INACTIVE
    # One round trip for the record, its grant and the grant's municipality; while
    # `tenant` is held, grant_is_live's lookup of it is served from the session.
    found = db.session.execute(
        select(AccessTokenRecord, TokenGrant, Tenant)
        .join(TokenGrant, TokenGrant.id == AccessTokenRecord.grant_id)
        .join(Tenant, Tenant.id == TokenGrant.tenant_id)
        .where(AccessTokenRecord.jti_hash == tokens.digest(claims["jti"]))
    ).first()
    if found is None:
        return INACTIVE
    record, grant, tenant = found
    if record.revoked_at is not None or not grant_is_live(grant):
        return INACTIVE
    return TokenStatus(True, "access_token", claims, grant, tenant)


def refresh_token_status(token: str) -> TokenStatus:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return INACTIVE
    row = db.session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == tokens.digest(token))
    )
    now = utcnow()
    if row is None or row.used_at is not None or row.revoked_at is not None:
        return INACTIVE
    if row.expires_at <= now:
        return INACTIVE
    grant = db.session.get(TokenGrant, row.grant_id)
    if not grant_is_live(grant):
        return INACTIVE
    assert grant is not None  # noqa: S101 - grant_is_live said so
    claims = {
        "client_id": grant.client_id,
        "scope": row.scope,
        "exp": int(row.expires_at.timestamp()),
        "iat": int(row.created_at.timestamp()),
    }
    return TokenStatus(True, "refresh_token", claims, grant)


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), else None."""
    scheme, _space, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def of_bearer(authorization: str | None) -> TokenStatus:
    """The status of the access token a request carries, INACTIVE when it carries none."""
    token = bearer(authorization)
    return access_token_status(token) if token else INACTIVE


def status(token: str, hint: str | None = None) -> TokenStatus:
    """Either kind of token; `hint` (RFC 7662 token_type_hint) only orders the lookups."""
    if hint == "refresh_token":
        found = refresh_token_status(token)
        return found if found.active else access_token_status(token)
    found = access_token_status(token)
    return found if found.active else refresh_token_status(token)
