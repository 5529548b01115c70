"""The authorization server's tables: its signing keys (so far)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, String, Text
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
