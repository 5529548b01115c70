"""Random credentials Torget hands out once and keeps only as a hash.

API tokens, sessions, invitation links, client secrets and EHR launch values
all carry 256 random bits: a plain SHA-256 is as safe to store as a slow
password hash would be, and keeps every lookup an indexed equality.
"""

from __future__ import annotations

import hashlib
import secrets


def new(prefix: str = "") -> str:
    """A fresh value with 256 random bits, after `prefix` (which says what it is)."""
    return prefix + secrets.token_urlsafe(32)


def digest(value: str) -> str:
    """What is stored of a value: its SHA-256, in hex."""
    return hashlib.sha256(value.encode()).hexdigest()
