"""Is a token live now? The authoritative answer, read at introspection, UserInfo and the gateway.

A token is inactive at once when it was revoked (itself or its grant), its
enablement was disabled, its release suspended or revoked, or the client
secret it was issued on revoked: the signature and expiry say nothing of
these, so the database is read every time. One statement reads all of it
(`_state`): the record, its grant, the municipality, the client, the secret,
the user, the enablement and its release, as plain columns. Introspection is
called for every request a resource server serves, so the ORM's identity map
and eager loading (most of its cost here) are left out.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any

import jwt
from sqlalchemy import Row, Select, and_, bindparam, select

from accounts.models import Organisation, User
from auth import keys
from auth.identity import practitioner_reference
from auth.models import AccessTokenRecord, RefreshToken, TokenGrant
from auth.urls import issuer
from catalog import releases
from catalog.models import Client, ClientSecret, Environment, Release
from marketplace import enablements
from marketplace.models import Enablement, EnablementState, Tenant
from torget import tokens
from torget.db import db, utcnow

# A token is a few hundred bytes; anything far larger is not one of ours.
MAX_TOKEN_LENGTH = 8192
_public_keys: dict[str, Any] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class GrantFacts:
    """What the answers about a live token need of its grant, read with its status."""

    grant_id: int
    client_id: str
    application_id: int
    tenant_id: int
    tenant_slug: str
    user_id: int | None
    practitioner: str | None  # the user's Practitioner id (auth.identity), when a user
    username: str | None
    patient: str | None
    encounter: str | None
    fhir_context: list[dict[str, Any]]


@dataclass(frozen=True)
class TokenStatus:
    active: bool
    kind: str = ""  # "access_token" or "refresh_token"
    claims: dict[str, Any] = field(default_factory=dict)
    facts: GrantFacts | None = None

    @property
    def grant(self) -> TokenGrant | None:
        """The grant as a model, for those who change it (revocation); loaded when asked."""
        return db.session.get(TokenGrant, self.facts.grant_id) if self.facts else None


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


# The last suspension of the release the grant was made under or of the one the
# municipality runs now, beside the release (see `ended_by_stop`).
_RELEASE_LAST_SUSPENDED = (
    releases.last_suspension(TokenGrant.release_id, Release.id)
    .correlate(Release, TokenGrant)
    .scalar_subquery()
)


def _state(token: type, *columns: Any) -> Select[Any]:
    """A token's `columns`, its grant and everything the grant's liveness depends on."""
    return (
        select(
            *columns,
            TokenGrant.id.label("grant_id"),
            TokenGrant.client_id,
            TokenGrant.tenant_id,
            TokenGrant.user_id,
            TokenGrant.created_at.label("grant_created_at"),
            TokenGrant.revoked_at.label("grant_revoked_at"),
            TokenGrant.client_secret_id,
            TokenGrant.patient,
            TokenGrant.encounter,
            TokenGrant.fhir_context,
            Organisation.slug.label("tenant_slug"),
            Client.environment,
            Client.application_id,
            ClientSecret.id.label("secret_id"),
            ClientSecret.revoked_at.label("secret_revoked_at"),
            ClientSecret.expires_at.label("secret_expires_at"),
            User.is_active.label("user_is_active"),
            User.email.label("user_email"),
            User.hpr_number,
            Enablement.state.label("enablement_state"),
            Enablement.enabled_at,
            Release.state.label("release_state"),
            _RELEASE_LAST_SUSPENDED.label("release_suspended_at"),
        )
        .select_from(token)
        .join(TokenGrant, TokenGrant.id == token.grant_id)  # type: ignore[attr-defined]
        .join(Tenant, Tenant.id == TokenGrant.tenant_id)
        .join(Organisation, Organisation.id == Tenant.organisation_id)
        .outerjoin(Client, Client.client_id == TokenGrant.client_id)
        .outerjoin(ClientSecret, ClientSecret.id == TokenGrant.client_secret_id)
        .outerjoin(User, User.id == TokenGrant.user_id)
        .outerjoin(
            Enablement,
            and_(
                Enablement.application_id == Client.application_id,
                Enablement.tenant_id == TokenGrant.tenant_id,
            ),
        )
        .outerjoin(Release, Release.id == Enablement.release_id)
    )


# Built once with a bound parameter, run on the session's connection: a statement
# built per call spends more on its cache key than the database spends on it.
_ACCESS_TOKEN_STATE = _state(
    AccessTokenRecord, AccessTokenRecord.revoked_at.label("token_revoked_at")
).where(AccessTokenRecord.jti_hash == bindparam("digest"))


def _is_live(row: Row[Any], now: dt.datetime) -> bool:
    """The rules of `grant_is_live`, over the columns `_state` read."""
    if row.grant_revoked_at is not None or row.environment is None:
        return False
    if row.client_secret_id is not None and (
        row.secret_id is None
        or row.secret_revoked_at is not None
        or (row.secret_expires_at is not None and row.secret_expires_at <= now)
    ):
        return False
    if row.user_id is not None and not row.user_is_active:
        return False  # a deactivated user's apps stop with them (None: no such user)
    if row.environment == Environment.SANDBOX:
        # The sandbox's rule follows the release under test, not an enablement.
        return grant_is_live(db.session.get(TokenGrant, row.grant_id))
    return (
        row.enablement_state == EnablementState.ACTIVE
        and row.release_state in releases.LAUNCHABLE
        # A disable and a suspension are for good: enabling again, or reinstating
        # the release, does not revive older grants (`ended_by_stop`).
        and row.grant_created_at >= row.enabled_at
        and (row.release_suspended_at is None or row.grant_created_at >= row.release_suspended_at)
    )


def _facts(row: Row[Any]) -> GrantFacts:
    return GrantFacts(
        grant_id=row.grant_id,
        client_id=row.client_id,
        application_id=row.application_id,
        tenant_id=row.tenant_id,
        tenant_slug=row.tenant_slug,
        user_id=row.user_id,
        practitioner=(practitioner_reference(row.user_id, row.hpr_number) if row.user_id else None),
        username=row.user_email,
        patient=row.patient,
        encounter=row.encounter,
        fhir_context=row.fhir_context or [],
    )


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
    return decision.allowed and not ended_by_stop(grant, decision)


def ended_by_stop(grant: TokenGrant, decision: enablements.LaunchDecision) -> bool:
    """Whether the app was disabled, or its release suspended, since `grant`: both are for good.

    Enabling reuses the enablement row, and a reinstated release is the same
    row again: without this the tokens of before the stop would come back to
    life with it. (A suspension is a security measure: the app's sessions of
    before it are not to be trusted after it either, nor after a move to
    another release: the release the grant was made under counts as well.)
    """
    enablement = decision.enablement
    if enablement is not None and grant.created_at < enablement.enabled_at:
        return True
    ran = {grant.release_id, decision.release.id if decision.release else None} - {None}
    suspended = db.session.scalar(releases.last_suspension(*ran)) if ran else None
    return suspended is not None and grant.created_at < suspended


def access_token_status(token: str) -> TokenStatus:
    claims = verify_access_token(token)
    if claims is None:
        return INACTIVE
    digest = tokens.digest(claims["jti"])
    row = db.session.connection().execute(_ACCESS_TOKEN_STATE, {"digest": digest}).first()
    if row is None or row.token_revoked_at is not None or not _is_live(row, utcnow()):
        return INACTIVE
    return TokenStatus(True, "access_token", claims, _facts(row))


_REFRESH_TOKEN_STATE = _state(
    RefreshToken,
    RefreshToken.scope.label("token_scope"),
    RefreshToken.created_at.label("token_created_at"),
    RefreshToken.expires_at.label("token_expires_at"),
    RefreshToken.used_at.label("token_used_at"),
    RefreshToken.revoked_at.label("token_revoked_at"),
).where(RefreshToken.token_hash == bindparam("digest"))


def refresh_token_status(token: str) -> TokenStatus:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return INACTIVE
    digest = tokens.digest(token)
    row = db.session.connection().execute(_REFRESH_TOKEN_STATE, {"digest": digest}).first()
    now = utcnow()
    if row is None or row.token_used_at is not None or row.token_revoked_at is not None:
        return INACTIVE
    if row.token_expires_at <= now or not _is_live(row, now):
        return INACTIVE
    claims = {
        "client_id": row.client_id,
        "scope": row.token_scope,
        "exp": int(row.token_expires_at.timestamp()),
        "iat": int(row.token_created_at.timestamp()),
    }
    return TokenStatus(True, "refresh_token", claims, _facts(row))


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
