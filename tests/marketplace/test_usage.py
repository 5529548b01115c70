"""Usage counts: per app, municipality and day, active users per month, never who."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from marketplace import usage
from marketplace.models import ActiveUser, UsageDay
from tests.factories.catalog import ApplicationFactory
from tests.factories.marketplace import TenantFactory
from torget.db import db

OSLO_TIME = ZoneInfo("Europe/Oslo")


def _at(y: int, m: int, d: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(y, m, d, hour, tzinfo=dt.UTC)


def test_launches_tokens_and_active_users_add_up_per_month(db_session) -> None:
    tenant, other = TenantFactory(), TenantFactory()
    app = ApplicationFactory()
    for day, user in ((3, "Practitioner/1"), (3, "Practitioner/1"), (20, "Practitioner/2")):
        usage.record_launch(tenant, app, user, _at(2026, 3, day))
        usage.record_token(tenant, app, _at(2026, 3, day))
    usage.record_launch(tenant, app, "Practitioner/1", _at(2026, 4, 1))
    usage.record_launch(other, app, "Practitioner/9", _at(2026, 3, 5))
    usage.record_launch(tenant, app, None, _at(2025, 12, 31))  # another year

    months = usage.monthly(app, year=2026, tenant=tenant)
    assert [m.month for m in months] == [dt.date(2026, n, 1) for n in range(1, 13)]
    march, april = months[2], months[3]
    assert (march.launches, march.tokens, march.active_users) == (3, 3, 2)
    assert (april.launches, april.tokens, april.active_users) == (1, 0, 1)
    assert sum(m.launches for m in months) == 4
    everywhere = usage.monthly(app, year=2026)
    assert (everywhere[2].launches, everywhere[2].active_users) == (4, 3)
    # One row per day, not per event.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UsageDay)) == 5


def test_a_day_is_a_utc_day(db_session) -> None:
    tenant, app = TenantFactory(), ApplicationFactory()
    # 00:30 in Oslo on 1 April is still 31 March in UTC.
    usage.record_launch(tenant, app, None, dt.datetime(2026, 4, 1, 0, 30, tzinfo=OSLO_TIME))
    months = usage.monthly(app, year=2026, tenant=tenant)
    assert (months[2].launches, months[3].launches) == (1, 0)


def test_active_users_are_kept_as_keyed_hashes_only(db_session) -> None:
    tenant, app = TenantFactory(), ApplicationFactory()
    usage.record_launch(tenant, app, "Practitioner/kari", _at(2026, 5, 2))
    usage.record_launch(tenant, app, "Practitioner/kari", _at(2026, 6, 2))
    hashes = db.session.scalars(sa.select(ActiveUser.user_hash)).all()
    assert len(hashes) == 2
    assert all(len(h) == 64 and "kari" not in h for h in hashes)
    # Not linkable across months: the same person hashes differently.
    assert hashes[0] != hashes[1]
