from __future__ import annotations

import pytest

from catalog import criteria
from catalog.models import Criterion


@pytest.fixture
def seeded(db_session) -> list[Criterion]:
    """The seed criteria, as a fresh installation has them."""
    criteria.seed()
    return criteria.active()
