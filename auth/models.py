"""The authorization server's tables: keys, launches, codes, grants and tokens, its audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models import Tenant
from torget.db import UTCDateTime, db, utcnow


class SigningKey(db.Model):
    """A key that signs access and ID tokens. Its private half is encrypted at rest.

    The newest unretired key signs; a retired key stays in the JWKS until the
    last token it signed has expired, so rotation never breaks a live token.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)  # the RFC 7638 thumbprint
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    # AES-256-GCM of the private JWK under TORGET_KEY_ENCRYPTION_KEY, the kid as
    # associated data: base64url(nonce || ciphertext).
    private_jwk_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class LaunchContext(db.Model):
    """What an EHR launch carries to the app: short-lived, single use, bound to its client.

    The journal system (or the built-in EPJ launcher) makes one; the app's
    authorize request with scope `launch` spends it. Only a hash of the
    `launch` value is stored.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    launch_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    patient: Mapped[str | None] = mapped_column(String(64))  # a Patient id on the tenant's base
    encounter: Mapped[str | None] = mapped_column(String(64))
    intent: Mapped[str | None] = mapped_column(String(64))
    # SMART 2.2 fhirContext: references the app should open with (beyond patient/encounter).
    fhir_context: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AuthorizationCode(db.Model):
    """An authorization code: single use, at most 60 s, bound to client, redirect and PKCE.

    Only a hash of the code is stored. `used_at` is set by one conditional
    UPDATE at redemption, so of two racing redemptions exactly one wins; the
    loser's replay revokes the grant (`grant_id`) the winner was issued.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    code_challenge: Mapped[str] = mapped_column(String(128))
    grant_id: Mapped[int] = mapped_column(ForeignKey("token_grant.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    grant: Mapped[TokenGrant] = relationship(lazy="joined")


class TokenGrant(db.Model):
    """One authorization: what was granted, to whom, in which context; its tokens share it.

    The access and refresh tokens issued from one code (and every refresh
    after it) belong to one grant: revoking the grant (a replayed code, a
    reused refresh token, the user's revocation) revokes them all.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    # Held by the grant, so issuing and counting its token read it without a query.
    tenant: Mapped[Tenant] = relationship()
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    enablement_id: Mapped[int | None] = mapped_column(
        ForeignKey("enablement.id", ondelete="CASCADE")
    )
    # The release the app ran when this was granted: its suspension ends the grant for
    # good, even after the municipality moved to another release (auth.status).
    release_id: Mapped[int | None] = mapped_column(ForeignKey("release.id", ondelete="SET NULL"))
    launcher: Mapped[str] = mapped_column(String(16))  # auth.grants.Launcher
    scope: Mapped[str] = mapped_column(Text)  # the most any token of this grant may carry
    patient: Mapped[str | None] = mapped_column(String(64))
    encounter: Mapped[str | None] = mapped_column(String(64))
    intent: Mapped[str | None] = mapped_column(String(64))
    fhir_context: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    need_patient_banner: Mapped[bool] = mapped_column(default=True)
    nonce: Mapped[str | None] = mapped_column(String(255))
    auth_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # online_access: refreshing ends with this sign-in session.
    login_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("login_session.id", ondelete="SET NULL")
    )
    # The secret the client authenticated with: revoking it makes the tokens inactive.
    client_secret_id: Mapped[int | None] = mapped_column(
        ForeignKey("client_secret.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(64))


class AccessTokenRecord(db.Model):
    """An issued access token, by the hash of its `jti` (never the token): for revocation."""

    id: Mapped[int] = mapped_column(primary_key=True)
    jti_hash: Mapped[str] = mapped_column(String(64), unique=True)
    grant_id: Mapped[int] = mapped_column(
        ForeignKey("token_grant.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class RefreshToken(db.Model):
    """An opaque refresh token, stored hashed; each use rotates it (RFC 9700 §4.14.2)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    grant_id: Mapped[int] = mapped_column(
        ForeignKey("token_grant.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class UsedAssertion(db.Model):
    """A client assertion's `jti`, kept until the assertion expires: a replay is refused.

    The unique constraint decides across every node: the second insert fails.
    """

    __table_args__ = (UniqueConstraint("client_id", "jti_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    jti_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class AuthEvent(db.Model):
    """The authorization server's audit: each issuance and each refusal, with its reason.

    Never a token, secret, code or assertion: only what happened, to which client.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    endpoint: Mapped[str] = mapped_column(String(32))  # authorize, token, launch, ...
    outcome: Mapped[str] = mapped_column(String(32))  # issued, or the OAuth error code
    client_id: Mapped[str | None] = mapped_column(String(64), index=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    grant_type: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str | None] = mapped_column(String(45))
