from __future__ import annotations

from collections.abc import Iterator

import pytest

from auth import assertions, issuing, status


@pytest.fixture(autouse=True)
def fresh_key_caches() -> Iterator[None]:
    """Each test's database has its own signing key: forget the one a worker cached."""
    issuing.forget_signer()
    status.forget_keys()
    assertions._last_purge = None  # each test's jti table is its own
    yield
    issuing.forget_signer()
    status.forget_keys()
