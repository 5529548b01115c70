"""Token signing keys: made and rotated by `torget keys rotate`, encrypted at rest.

Two keys sign at any time: an ES256 (P-256) key signs access tokens, as the
architecture allows; an RS256 key signs ID tokens, since OpenID Connect asks
every provider to support RS256 for them (Core §15.1, Discovery §3) and
relying parties' libraries expect it. The `kid` is the key's RFC 7638
thumbprint. The private half is stored only encrypted with AES-256-GCM under
TORGET_KEY_ENCRYPTION_KEY (from the environment), so a copy of the database
alone signs nothing. Rotation retires the current keys but keeps publishing
them for the longest token lifetime, so tokens they signed stay verifiable
until they expire.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import select

from auth.models import SigningKey
from torget.db import db, utcnow

ALGORITHM = "ES256"  # access tokens
CURVE = "P-256"
ID_TOKEN_ALGORITHM = "RS256"  # noqa: S105 - an algorithm's name, not a secret
RSA_BITS = 2048  # RFC 7518 §3.3: at least 2048
SIGNING_ALGORITHMS = (ALGORITHM, ID_TOKEN_ALGORITHM)
# Access tokens live at most an hour (architecture.md): a retired key is
# published that long after it stopped signing.
ACCESS_TOKEN_MAX_LIFETIME = dt.timedelta(hours=1)


class KeyUnavailable(Exception):
    """No signing key exists yet, or the stored one cannot be decrypted (a wrong KEK)."""


def _cipher() -> AESGCM:
    kek = current_app.config["TORGET"].key_encryption_key
    return AESGCM(base64.urlsafe_b64decode(kek.encode()))


def _encrypt(private_jwk: dict[str, Any], kid: str) -> str:
    nonce = os.urandom(12)  # 96-bit, fresh per encryption (NIST SP 800-38D)
    sealed = _cipher().encrypt(nonce, json.dumps(private_jwk).encode(), kid.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def private_jwk(key: SigningKey) -> dict[str, Any]:
    """The private JWK of `key`, decrypted; KeyUnavailable under another encryption key."""
    raw = base64.urlsafe_b64decode(key.private_jwk_encrypted.encode())
    try:
        plain = _cipher().decrypt(raw[:12], raw[12:], key.kid.encode())
    except InvalidTag:
        raise KeyUnavailable(
            f"signing key {key.kid} does not decrypt: is TORGET_KEY_ENCRYPTION_KEY the one it "
            "was made with?"
        ) from None
    return json.loads(plain)


def rotate(now: dt.datetime | None = None) -> list[SigningKey]:
    """New signing keys, one per algorithm; the current ones retire and stay published an hour."""
    now = now or utcnow()
    for key in db.session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
        key.retired_at = now
    return [_make(alg, now) for alg in SIGNING_ALGORITHMS]


def _make(alg: str, now: dt.datetime) -> SigningKey:
    made = ECKey.generate_key(CURVE) if alg == ALGORITHM else RSAKey.generate_key(RSA_BITS)
    kid = made.thumbprint()
    public = {**made.as_dict(private=False), "kid": kid, "alg": alg, "use": "sig"}
    key = SigningKey(
        kid=kid,
        alg=alg,
        public_jwk=public,
        private_jwk_encrypted=_encrypt(made.as_dict(private=True), kid),
        created_at=now,
    )
    db.session.add(key)
    db.session.flush()  # generate key.id; the unique kid is checked here
    return key


def current(alg: str = ALGORITHM) -> SigningKey:
    """The key that signs with `alg` now."""
    key = db.session.scalar(
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None), SigningKey.alg == alg)
        .order_by(SigningKey.created_at.desc(), SigningKey.id.desc())
    )
    if key is None:
        raise KeyUnavailable(f"no {alg} signing key: run `torget keys rotate`")
    return key


def ensure(alg: str) -> SigningKey:
    """The current `alg` key, made now when there is none (the others stay as they are).

    An instance made before ID tokens were signed with RS256 has no such key
    until its first ID token or its next rotation.
    """
    try:
        return current(alg)
    except KeyUnavailable:
        return _make(alg, utcnow())


def ensure_current() -> list[SigningKey]:
    """The current keys, made now where there are none (a fresh demo instance)."""
    return [ensure(alg) for alg in SIGNING_ALGORITHMS]


def published(now: dt.datetime | None = None) -> list[SigningKey]:
    """The keys a verifier may meet: the current ones and those retired within the hour."""
    now = now or utcnow()
    cutoff = now - ACCESS_TOKEN_MAX_LIFETIME
    rows = db.session.scalars(
        select(SigningKey).order_by(SigningKey.created_at.desc(), SigningKey.id.desc())
    )
    return [k for k in rows if k.retired_at is None or k.retired_at > cutoff]


def jwks(now: dt.datetime | None = None) -> dict[str, Any]:
    """The JWK Set of `published` keys: public halves only."""
    return {"keys": [dict(k.public_jwk) for k in published(now)]}
