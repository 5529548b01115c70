from __future__ import annotations

from collections.abc import Iterator

import pytest

from auth import issuing, status


@pytest.fixture(autouse=True)
def fresh_key_caches() -> Iterator[None]:
    """Each test's database has its own signing key: forget the one a worker cached."""
    issuing.forget_signer()
    status.forget_keys()
    yield
    issuing.forget_signer()
    status.forget_keys()
