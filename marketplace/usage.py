"""Usage counts: launches and tokens per app, municipality and day; active users per month.

The authorization server calls `record_launch` and `record_token`, the
gateway `record_active_user` for every access a user makes through an app;
the pages and the cost read the monthly sums.
Counts only: a person is kept as a keyed hash per month, never by id, so the
usage tables say how many used an app, not who.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite

from catalog.models import Application
from marketplace.models import ActiveUser, Tenant, UsageDay
from torget.db import cacheable, db, insert_once


@dataclass(frozen=True)
class MonthUsage:
    month: dt.date  # the first day of the month
    launches: int
    tokens: int
    active_users: int


def _user_hash(tenant_id: int, month: dt.date, user_key: str) -> str:
    # Keyed by the server's secret and the month: the same person cannot be
    # followed from month to month, nor recognised from outside.
    secret = current_app.config["SECRET_KEY"].encode()
    message = f"{tenant_id}:{month.isoformat()}:{user_key}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


@functools.cache
def _count_statement(dialect: str, counted: str) -> Any:
    """The upsert that adds to one counter, built once: it runs for every token."""
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(UsageDay)
    statement = insert.values(
        {name: bindparam(name) for name in ("tenant_id", "application_id", "day")}
        | {"launches": 0, "tokens": 0, counted: bindparam("n")}
    ).on_conflict_do_update(
        index_elements=["tenant_id", "application_id", "day"],
        set_={counted: getattr(UsageDay, counted) + insert.excluded[counted]},
    )
    return cacheable(statement, dialect)


def _count(tenant: Tenant, application: Application, day: dt.date, counted: str) -> None:
    # One statement, so two workers counting the same day never lose a count.
    # On the session's connection: the ORM adds nothing to a plain upsert but time.
    connection = db.session.connection()
    connection.execute(
        _count_statement(connection.dialect.name, counted),
        {"tenant_id": tenant.id, "application_id": application.id, "day": day, "n": 1},
    )


def record_launch(
    tenant: Tenant, application: Application, user_key: str | None, at: dt.datetime
) -> None:
    """A launch of the app in the municipality; `user_key` (e.g. the fhirUser) for active users."""
    day = at.astimezone(dt.UTC).date()
    _count(tenant, application, day, "launches")
    if user_key:
        record_active_user(tenant.id, application.id, user_key, at)


def record_active_user(tenant_id: int, application_id: int, user_key: str, at: dt.datetime) -> None:
    """The person `user_key` used the app in the municipality in `at`'s month (counted once)."""
    month = at.astimezone(dt.UTC).date().replace(day=1)
    # Once per person and month: the unique constraint decides between racing nodes.
    insert_once(
        ActiveUser,
        tenant_id=tenant_id,
        application_id=application_id,
        month=month,
        user_hash=_user_hash(tenant_id, month, user_key),
    )


def record_token(tenant: Tenant, application: Application, at: dt.datetime) -> None:
    """An access token issued to the app for the municipality."""
    _count(tenant, application, at.astimezone(dt.UTC).date(), "tokens")


def monthly(
    application: Application, *, year: int, tenant: Tenant | None = None
) -> list[MonthUsage]:
    """Each month of `year` (all twelve, zeros included), for one municipality or all."""
    start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    days = select(UsageDay.day, UsageDay.launches, UsageDay.tokens).where(
        UsageDay.application_id == application.id, UsageDay.day >= start, UsageDay.day < end
    )
    users = select(ActiveUser.month, func.count()).where(
        ActiveUser.application_id == application.id,
        ActiveUser.month >= start,
        ActiveUser.month < end,
    )
    if tenant is not None:
        days = days.where(UsageDay.tenant_id == tenant.id)
        users = users.where(ActiveUser.tenant_id == tenant.id)
    launches = dict.fromkeys(range(1, 13), 0)
    tokens = dict.fromkeys(range(1, 13), 0)
    for day, day_launches, day_tokens in db.session.execute(days):
        launches[day.month] += day_launches
        tokens[day.month] += day_tokens
    active = {month.month: n for month, n in db.session.execute(users.group_by(ActiveUser.month))}
    return [
        MonthUsage(dt.date(year, m, 1), launches[m], tokens[m], active.get(m, 0))
        for m in range(1, 13)
    ]
