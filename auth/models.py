"""The authorization server's tables: signing keys and launch contexts (so far)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

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
