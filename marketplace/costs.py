"""What an app costs a municipality this year, so far and projected, and the usage behind it.

`marketplace.pricing` holds every rule of the arithmetic; this module feeds it
the facts from the database: the app's price, the municipality's population,
its use counted in the price's unit, and, for basis + usage, every subscribing
municipality's population and use. The subscribers are the municipalities with
an active enablement of the app now.

Usage is counted by calendar month (`usage.monthly`), so "so far" counts the
months up to and including the month of `as_of`: no usage is ever recorded
for a day that has not come yet.

The dates are passed in (`today`, `as_of`), never read from the clock here, so
a figure can be checked against a hand-computed one.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from accounts.models import Role, User
from catalog import vendors
from catalog.models import Application, PriceModel, UsageUnit
from marketplace import enablements, tenants, usage
from marketplace.models import ActiveUser, Enablement, EnablementState, Tenant, UsageDay
from marketplace.pricing import Price, Situation, cost_to_date, projected_cost
from marketplace.usage import MonthUsage
from torget.db import db, utcnow
from torget.errors import Invalid

# No municipality used Torget before this year: an earlier one is a typing error.
FIRST_YEAR = 2020
_COUNTS_USE = {PriceModel.PER_USE, PriceModel.BASIS_USAGE}


@dataclass(frozen=True)
class AppCost:
    """An app's cost to one municipality in the calendar year of `as_of`, in whole øre.

    `so_far_ore` runs from 1 January up to and including `as_of`;
    `projected_ore` is the whole year if use goes on as so far (for a year
    that is over, the two are the same). `by_month_ore` is the cost accrued by
    the end of each month, None for months after `as_of`. `units` is the
    municipality's use so far in the price's unit (0 when the price counts no
    use). A municipality that does not subscribe (`subscribing` False) sees
    what it would have paid as one more subscriber with the use it had.
    """

    tenant: Tenant
    application: Application
    as_of: dt.date
    subscribing: bool
    units: int
    so_far_ore: int
    projected_ore: int
    by_month_ore: tuple[int | None, ...]

    @property
    def year(self) -> int:
        return self.as_of.year

    @property
    def year_is_over(self) -> bool:
        return self.as_of == dt.date(self.as_of.year, 12, 31)


@dataclass(frozen=True)
class AppUsage:
    """One enabled app in a municipality's usage report.

    `cost` is None when the price cannot be worked out (`cost_problem` says why,
    e.g. a price shared by population among subscribers without inhabitants).
    """

    application: Application
    months: list[MonthUsage]
    cost: AppCost | None
    cost_problem: str = ""


@dataclass(frozen=True)
class TenantUsage:
    """A municipality's usage and cost of its active apps in one year."""

    tenant: Tenant
    as_of: dt.date
    apps: list[AppUsage]

    @property
    def year(self) -> int:
        return self.as_of.year

    @property
    def year_is_over(self) -> bool:
        return self.as_of == dt.date(self.as_of.year, 12, 31)


@dataclass(frozen=True)
class MunicipalityUsage:
    """One municipality's counts of one app; `state` None when it never enabled the app."""

    tenant: Tenant
    state: EnablementState | None
    months: list[MonthUsage]


@dataclass(frozen=True)
class ApplicationUsage:
    """A vendor's view of its app in one year: counts per municipality and in total."""

    application: Application
    as_of: dt.date
    municipalities: list[MunicipalityUsage]
    total: list[MonthUsage]

    @property
    def year(self) -> int:
        return self.as_of.year


# --- the year -----------------------------------------------------------------------


def counted_until(year: int | None, today: dt.date) -> dt.date:
    """The last day counted for `year`: today in the current year, 31 December before.

    None means this year. A year before FIRST_YEAR or after this one is refused.
    """
    if year is None:
        return today
    if not FIRST_YEAR <= year <= today.year:
        raise Invalid(
            _("Choose a year from %(first)d to %(last)d.", first=FIRST_YEAR, last=today.year),
            field="year",
        )
    return today if year == today.year else dt.date(year, 12, 31)


def today_utc() -> dt.date:
    # Usage days are UTC days (marketplace.usage), so "today" is too.
    return utcnow().date()


# --- cost ---------------------------------------------------------------------------


def subscribers(application: Application) -> list[Tenant]:
    """The municipalities with an active enablement of the app."""
    return list(
        db.session.scalars(
            select(Tenant)
            .join(Enablement, Enablement.tenant_id == Tenant.id)
            .where(
                Enablement.application_id == application.id,
                Enablement.state == EnablementState.ACTIVE,
            )
            .order_by(Tenant.id)
        )
    )


def _unit_counts(months: Sequence[MonthUsage], unit: UsageUnit | None) -> list[int]:
    """Use by the end of each month, in the price's unit (cumulative, twelve values)."""
    running, out = 0, []
    for month in months:
        # Active users are summed per month: two people in March and one in April are 3.
        running += month.active_users if unit == UsageUnit.ACTIVE_USER_MONTH else month.launches
        out.append(running)
    return out


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def app_cost(tenant: Tenant, application: Application, *, as_of: dt.date) -> AppCost:
    """The app's cost to `tenant` in the year of `as_of`, by the app's price model.

    Raises `Invalid` when the listing's price is impossible, or when a price
    shared by population has subscribers without inhabitants.
    """
    price = Price.of(application)
    everyone = subscribers(application)
    others = [t for t in everyone if t.id != tenant.id]
    subscribing = len(others) < len(everyone)
    counted = price.model in _COUNTS_USE
    year = as_of.year

    def counts(of: Tenant) -> list[int]:
        if not counted:
            return [0] * 12
        return _unit_counts(usage.monthly(application, year=year, tenant=of), price.usage_unit)

    own = counts(tenant)
    shared = price.model == PriceModel.BASIS_USAGE
    other_units = [counts(t) for t in others] if shared else []
    # The totals hold this municipality too, subscribing or not: a would-be
    # subscriber's share is what it would pay as one of them.
    population = tenant.population + sum(t.population for t in others)

    def situation(month: int) -> Situation:
        if not shared:
            return Situation(population=tenant.population, units=own[month - 1])
        return Situation(
            population=tenant.population,
            units=own[month - 1],
            subscribers_population=population,
            subscribers_units=own[month - 1] + sum(u[month - 1] for u in other_units),
        )

    now = situation(as_of.month)
    by_month = tuple(
        cost_to_date(price, situation(m), min(_month_end(year, m), as_of))
        if m <= as_of.month
        else None
        for m in range(1, 13)
    )
    return AppCost(
        tenant=tenant,
        application=application,
        as_of=as_of,
        subscribing=subscribing,
        units=now.units,
        so_far_ore=cost_to_date(price, now, as_of),
        projected_ore=projected_cost(price, now, as_of),
        by_month_ore=by_month,
    )


def cost_for_viewer(
    application: Application, user: User | None, *, today: dt.date | None = None
) -> AppCost | None:
    """What the app costs the signed-in municipal admin's municipality this year.

    None for anyone else (anonymous, clinicians, vendors), and when the price
    cannot be worked out. An admin of several municipalities sees the first
    by name.
    """
    ordered = tenants.where_user_is(user, Role.MUNICIPAL_ADMIN)
    if not ordered:
        return None
    try:
        return app_cost(ordered[0], application, as_of=today or today_utc())
    except Invalid:
        return None  # the app page shows the price model; the figure is left out


# --- usage reports ------------------------------------------------------------------


def tenant_usage(
    tenant: Tenant, *, year: int | None, by: User, today: dt.date | None = None
) -> TenantUsage:
    """Per active app of the municipality: the year's monthly use and its cost.

    For the municipality's own admins only (403 for anyone else).
    """
    enablements.require_admin(by, tenant)
    until = counted_until(year, today or today_utc())
    apps = []
    for enablement in enablements.for_tenant(tenant):
        if enablement.state != EnablementState.ACTIVE:
            continue
        application = enablement.application
        months = usage.monthly(application, year=until.year, tenant=tenant)
        try:
            apps.append(AppUsage(application, months, app_cost(tenant, application, as_of=until)))
        except Invalid as error:
            # One app's impossible price must not hide the others' usage.
            apps.append(AppUsage(application, months, None, error.detail or str(error.title)))
    return TenantUsage(tenant=tenant, as_of=until, apps=apps)


def _tenants_with_usage(application: Application, year: int) -> set[int]:
    start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    days = select(UsageDay.tenant_id).where(
        UsageDay.application_id == application.id, UsageDay.day >= start, UsageDay.day < end
    )
    users = select(ActiveUser.tenant_id).where(
        ActiveUser.application_id == application.id,
        ActiveUser.month >= start,
        ActiveUser.month < end,
    )
    return set(db.session.scalars(days.union(users)))


def application_usage(
    application: Application, *, year: int | None, by: User, today: dt.date | None = None
) -> ApplicationUsage:
    """The app's counts per municipality and month, for its vendor's members only.

    Counts only: how many launches, tokens and active users, never who. The
    municipalities are those that enabled the app (active or disabled) and any
    other that used it that year (the sandbox municipality, say).
    """
    vendors.require_member(by, application.vendor)
    until = counted_until(year, today or today_utc())
    states = {
        e.tenant_id: e.state
        for e in db.session.scalars(
            select(Enablement).where(Enablement.application_id == application.id)
        )
    }
    ids = set(states) | _tenants_with_usage(application, until.year)
    found = db.session.scalars(select(Tenant).where(Tenant.id.in_(ids))) if ids else []
    rows = [
        MunicipalityUsage(
            t, states.get(t.id), usage.monthly(application, year=until.year, tenant=t)
        )
        for t in sorted(found, key=lambda t: tenants.norwegian_sort_key(t.name))
    ]
    return ApplicationUsage(
        application=application,
        as_of=until,
        municipalities=rows,
        total=_total(until.year, rows),
    )


def _total(year: int, rows: Sequence[MunicipalityUsage]) -> list[MonthUsage]:
    """The municipalities' counts added up month by month."""
    # Active users are counted per municipality (a person is hashed per
    # tenant), so one person using the app in two municipalities counts twice,
    # as each municipality pays for them.
    return [
        MonthUsage(
            dt.date(year, m, 1),
            sum(r.months[m - 1].launches for r in rows),
            sum(r.months[m - 1].tokens for r in rows),
            sum(r.months[m - 1].active_users for r in rows),
        )
        for m in range(1, 13)
    ]
