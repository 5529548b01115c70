"""Password hashing with Argon2id, memory-hard as human passwords need."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

# Verified against when the email is unknown, so a wrong email costs the same
# time as a wrong password and timing tells nothing about who has an account.
_DUMMY_HASH = _hasher.hash("no account has this password")

MIN_LENGTH = 12
# Argon2 takes any length; the cap keeps a 1 MB "password" from costing a core.
MAX_LENGTH = 256


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches. With no hash, spends the same time and says no."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
