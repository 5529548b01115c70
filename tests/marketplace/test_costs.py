"""The cost of an app to a municipality this year, from real usage rows, and the usage reports.

Every expected figure is worked out by hand in the comment above it, in øre
(100 øre = 1 kr). Dates are fixed (`as_of`, `today`): nothing reads the clock.
2026 has 365 days; 1 July 2026 is day 182 (31+28+31+30+31+30 = 181 before it),
31 May is day 151 (31+28+31+30+31).
"""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import Role
from catalog.models import Application, PriceModel, ReleaseState, UsageUnit
from marketplace import costs, usage
from marketplace.models import Enablement, EnablementState, Tenant
from tests.factories.accounts import MembershipFactory, UserFactory
from tests.factories.catalog import ApplicationFactory, ReleaseFactory, member_of
from tests.factories.marketplace import TenantFactory, admin_of, clinician_of
from torget.db import db
from torget.errors import Forbidden, Invalid

pytestmark = pytest.mark.usefixtures("english")

MID_2026 = dt.date(2026, 7, 1)
END_OF_MAY = dt.date(2026, 5, 31)
END_2026 = dt.date(2026, 12, 31)


def _app(model: PriceModel, price_ore: int | None = None, **fields: object) -> Application:
    return ApplicationFactory(price_model=model, price_ore=price_ore, **fields)


def _subscribe(tenant: Tenant, application: Application, *, active: bool = True) -> Enablement:
    """An enablement as the enablement service leaves it (its rules are tested there)."""
    release = ReleaseFactory(application=application, state=ReleaseState.CERTIFIED)
    enablement = Enablement(
        tenant=tenant,
        application=application,
        release=release,
        state=EnablementState.ACTIVE if active else EnablementState.DISABLED,
        approved_scopes="launch patient/Observation.rs",
        roles=["clinician"],
    )
    db.session.add(enablement)
    db.session.flush()
    return enablement


def _launches(
    tenant: Tenant, application: Application, day: dt.date, n: int, user: str = ""
) -> None:
    at = dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC)
    for i in range(n):
        usage.record_launch(tenant, application, user or f"Practitioner/{i}", at)


# --- the year -----------------------------------------------------------------------


def test_the_year_is_counted_to_today_or_to_its_last_day() -> None:
    today = dt.date(2026, 11, 23)
    assert costs.counted_until(None, today) == today
    assert costs.counted_until(2026, today) == today
    assert costs.counted_until(2025, today) == dt.date(2025, 12, 31)
    assert costs.counted_until(costs.FIRST_YEAR, today) == dt.date(costs.FIRST_YEAR, 12, 31)


@pytest.mark.parametrize("year", [2027, 2019, 0, -1, 10**12])
def test_a_year_outside_the_platforms_life_is_refused(year) -> None:
    with pytest.raises(Invalid) as refused:
        costs.counted_until(year, dt.date(2026, 11, 23))
    assert refused.value.fields == {"year": ["Choose a year from 2020 to 2026."]}


# --- each price model, from usage rows ------------------------------------------------


def test_fixed_accrues_by_day_and_projects_the_full_year() -> None:
    # 45 000 kr a year: 4 500 000 øre.
    app = _app(PriceModel.FIXED, 4_500_000)
    tenant = TenantFactory(population=53_000)
    _subscribe(tenant, app)
    _launches(tenant, app, dt.date(2026, 3, 2), 40)  # use changes nothing
    cost = costs.app_cost(tenant, app, as_of=MID_2026)
    # 4 500 000 * 182 / 365 = 2 243 835.6... → 2 243 836
    assert (cost.so_far_ore, cost.projected_ore) == (2_243_836, 4_500_000)
    # By the end of January (day 31): 4 500 000 * 31 / 365 = 382 191.7... → 382 192;
    # June (day 181): 2 231 506.8... → 2 231 507; July is counted to 1 July; later months not yet.
    assert cost.by_month_ore[0] == 382_192
    assert cost.by_month_ore[5] == 2_231_507
    assert cost.by_month_ore[6] == 2_243_836
    assert cost.by_month_ore[7:] == (None,) * 5
    assert (cost.subscribing, cost.units, cost.year, cost.year_is_over) == (True, 0, 2026, False)


def test_per_inhabitant_is_the_population_times_the_price() -> None:
    # 2.50 kr per inhabitant; Bodø's 53 000: 13 250 000 øre a year.
    app = _app(PriceModel.PER_INHABITANT, 250)
    bodo = TenantFactory(population=53_000)
    _subscribe(bodo, app)
    cost = costs.app_cost(bodo, app, as_of=MID_2026)
    # 13 250 000 * 182 / 365 = 6 606 849.3... → 6 606 849
    assert (cost.so_far_ore, cost.projected_ore) == (6_606_849, 13_250_000)
    full = costs.app_cost(bodo, app, as_of=END_2026)
    assert (full.so_far_ore, full.projected_ore, full.year_is_over) == (13_250_000,) * 2 + (True,)


def test_per_launch_counts_this_municipalitys_launches_so_far() -> None:
    # 3.00 kr per launch.
    app = _app(PriceModel.PER_USE, 300, usage_unit=UsageUnit.LAUNCH)
    tenant, other = TenantFactory(), TenantFactory()
    _subscribe(tenant, app)
    _subscribe(other, app)
    _launches(tenant, app, dt.date(2026, 1, 15), 10)
    _launches(tenant, app, dt.date(2026, 3, 3), 5)
    _launches(tenant, app, dt.date(2026, 7, 1), 2)
    _launches(tenant, app, dt.date(2025, 12, 31), 50)  # last year
    _launches(other, app, dt.date(2026, 2, 1), 99)  # another municipality's
    cost = costs.app_cost(tenant, app, as_of=MID_2026)
    # 10 + 5 + 2 = 17 launches * 300 = 5 100 so far;
    # projected 5 100 * 365 / 182 = 10 228.02... → 10 228.
    assert (cost.units, cost.so_far_ore, cost.projected_ore) == (17, 5_100, 10_228)
    # Accrued by each month's end: 10, 10, 15, 15, 15, 15, 17 launches.
    assert cost.by_month_ore[:7] == (3_000, 3_000, 4_500, 4_500, 4_500, 4_500, 5_100)


def test_per_active_user_month_sums_the_active_users_of_each_month() -> None:
    # 12.00 kr per active user and month.
    app = _app(PriceModel.PER_USE, 1_200, usage_unit=UsageUnit.ACTIVE_USER_MONTH)
    tenant = TenantFactory()
    _subscribe(tenant, app)
    for day, person in [
        (dt.date(2026, 3, 2), "kari"),
        (dt.date(2026, 3, 9), "kari"),  # the same person again in March: still one
        (dt.date(2026, 3, 9), "ola"),
        (dt.date(2026, 4, 1), "kari"),
        (dt.date(2026, 5, 5), "kari"),
        (dt.date(2026, 5, 6), "ola"),
        (dt.date(2026, 5, 7), "per"),
    ]:
        _launches(tenant, app, day, 1, user=f"Practitioner/{person}")
    cost = costs.app_cost(tenant, app, as_of=END_OF_MAY)
    # March 2 + April 1 + May 3 = 6 active-user months * 1 200 = 7 200;
    # projected 7 200 * 365 / 151 = 17 403.97... → 17 404.
    assert (cost.units, cost.so_far_ore, cost.projected_ore) == (6, 7_200, 17_404)
    assert cost.by_month_ore[:5] == (0, 0, 2_400, 3_600, 7_200)


@pytest.fixture
def shared():
    """600 000 kr a year for all subscribers, 50 % by population, the rest by launches.

    A (30 000 inhabitants) launched 6 times in January, B (10 000) twice in
    March; C (60 000) disabled the app, so neither its people nor its 100
    launches count.
    """
    app = _app(
        PriceModel.BASIS_USAGE,
        60_000_000,
        usage_unit=UsageUnit.LAUNCH,
        basis_share_percent=50,
    )
    a, b, c = (TenantFactory(population=p) for p in (30_000, 10_000, 60_000))
    _subscribe(a, app)
    _subscribe(b, app)
    _subscribe(c, app, active=False)
    _launches(a, app, dt.date(2026, 1, 20), 6)
    _launches(b, app, dt.date(2026, 3, 10), 2)
    _launches(c, app, dt.date(2026, 2, 1), 100)
    return app, a, b, c


def test_basis_plus_usage_splits_by_the_subscribers_population_and_use(shared) -> None:
    app, a, b, _c = shared
    assert {t.id for t in costs.subscribers(app)} == {a.id, b.id}
    cost_a = costs.app_cost(a, app, as_of=MID_2026)
    # A's share: 0.5 * 30 000/40 000 + 0.5 * 6/8 = 0.375 + 0.375 = 0.75 of 60 000 000 =
    # 45 000 000 a year; so far 45 000 000 * 182 / 365 = 22 438 356.1... → 22 438 356.
    assert (cost_a.units, cost_a.so_far_ore, cost_a.projected_ore) == (6, 22_438_356, 45_000_000)
    cost_b = costs.app_cost(b, app, as_of=MID_2026)
    # B's share: 0.5 * 0.25 + 0.5 * 2/8 = 0.25: 15 000 000 a year;
    # so far 15 000 000 * 182 / 365 = 7 479 452.05... → 7 479 452.
    assert (cost_b.units, cost_b.so_far_ore, cost_b.projected_ore) == (2, 7_479_452, 15_000_000)
    # Together they pay the whole price for the year.
    full = [costs.app_cost(t, app, as_of=END_2026).so_far_ore for t in (a, b)]
    assert sum(full) == 60_000_000


def test_basis_plus_usage_by_month_uses_the_use_up_to_each_month(shared) -> None:
    app, a, _b, _c = shared
    cost = costs.app_cost(a, app, as_of=MID_2026)
    # January and February: only A has launched (6 of 6), share 0.375 + 0.5 = 0.875,
    # 52 500 000 a year: by 31 January 52 500 000 * 31/365 = 4 458 904.1 → 4 458 904;
    # by 28 February (day 59) 8 486 301.3... → 8 486 301.
    # From March B's 2 launches count: share 0.75, by 31 March (day 90)
    # 45 000 000 * 90 / 365 = 11 095 890.4... → 11 095 890.
    assert cost.by_month_ore[:3] == (4_458_904, 8_486_301, 11_095_890)


def test_a_municipality_that_does_not_subscribe_sees_its_share_as_one_more(shared) -> None:
    app, _a, _b, c = shared
    d = TenantFactory(population=40_000)
    cost = costs.app_cost(d, app, as_of=MID_2026)
    # With D the subscribers have 80 000 inhabitants and 8 launches (D none):
    # 0.5 * 40 000/80 000 + 0.5 * 0/8 = 0.25 → 15 000 000 a year, 7 479 452 so far.
    assert (cost.subscribing, cost.so_far_ore, cost.projected_ore) == (False, 7_479_452, 15_000_000)
    # C disabled the app; its own 100 launches count for it as a would-be subscriber:
    # 0.5 * 60 000/100 000 + 0.5 * 100/108 = 0.3 + 0.46296... = 0.762962...
    # * 60 000 000 = 45 777 777.7... → 45 777 778 a year.
    assert costs.app_cost(c, app, as_of=END_2026).projected_ore == 45_777_778


def test_basis_plus_usage_without_inhabitants_cannot_be_worked_out() -> None:
    app = _app(PriceModel.BASIS_USAGE, 100_000, usage_unit=UsageUnit.LAUNCH, basis_share_percent=50)
    empty = TenantFactory(population=0)
    _subscribe(empty, app)
    with pytest.raises(Invalid):
        costs.app_cost(empty, app, as_of=MID_2026)


def test_a_free_app_costs_nothing() -> None:
    app = _app(PriceModel.FREE)
    tenant = TenantFactory()
    _subscribe(tenant, app)
    _launches(tenant, app, dt.date(2026, 2, 2), 7)
    cost = costs.app_cost(tenant, app, as_of=MID_2026)
    assert (cost.so_far_ore, cost.projected_ore, cost.units) == (0, 0, 0)
    assert cost.by_month_ore[:7] == (0,) * 7


# --- the app page's cost for the signed-in admin ----------------------------------------


def test_cost_for_viewer_is_the_admins_municipalitys_cost() -> None:
    app = _app(PriceModel.PER_INHABITANT, 250)
    bodo = TenantFactory(population=53_000)
    cost = costs.cost_for_viewer(app, admin_of(bodo), today=MID_2026)
    assert cost is not None
    assert (cost.tenant, cost.subscribing) == (bodo, False)
    assert (cost.so_far_ore, cost.projected_ore) == (6_606_849, 13_250_000)


def test_cost_for_viewer_is_nothing_for_anyone_but_a_municipal_admin() -> None:
    app = _app(PriceModel.FIXED, 4_500_000)
    tenant = TenantFactory()
    operator = UserFactory()
    MembershipFactory(user=operator, role=Role.OPERATOR)
    assert costs.cost_for_viewer(app, None, today=MID_2026) is None
    assert costs.cost_for_viewer(app, clinician_of(tenant), today=MID_2026) is None
    assert costs.cost_for_viewer(app, member_of(app.vendor), today=MID_2026) is None
    assert costs.cost_for_viewer(app, operator, today=MID_2026) is None
    assert costs.cost_for_viewer(app, UserFactory(), today=MID_2026) is None


def test_an_admin_of_two_municipalities_sees_the_first_by_norwegian_name() -> None:
    app = _app(PriceModel.PER_INHABITANT, 100)
    baerum = TenantFactory(organisation__name="Bærum kommune", population=131_000)
    bodo = TenantFactory(organisation__name="Bodø kommune", population=53_000)
    admin = admin_of(baerum)
    MembershipFactory(user=admin, role=Role.MUNICIPAL_ADMIN, organisation=bodo.organisation)
    # æ sorts after z in Norwegian: Bodø comes before Bærum.
    cost = costs.cost_for_viewer(app, admin, today=END_2026)
    assert (cost.tenant, cost.projected_ore) == (bodo, 5_300_000)


def test_cost_for_viewer_leaves_out_a_cost_that_cannot_be_worked_out() -> None:
    app = _app(PriceModel.BASIS_USAGE, 100_000, usage_unit=UsageUnit.LAUNCH, basis_share_percent=50)
    empty = TenantFactory(population=0)
    assert costs.cost_for_viewer(app, admin_of(empty), today=MID_2026) is None


# --- the municipality's report ---------------------------------------------------------


def test_tenant_usage_lists_the_active_apps_with_months_and_cost() -> None:
    tenant = TenantFactory(population=10_000)
    fixed = _app(PriceModel.FIXED, 1_000_000, name="Alfa")
    per_launch = _app(PriceModel.PER_USE, 500, usage_unit=UsageUnit.LAUNCH, name="Beta")
    dropped = _app(PriceModel.FIXED, 1_000_000, name="Gamma")
    for app in (fixed, per_launch):
        _subscribe(tenant, app)
    _subscribe(tenant, dropped, active=False)
    _launches(tenant, per_launch, dt.date(2025, 4, 4), 3)
    report = costs.tenant_usage(tenant, year=2025, by=admin_of(tenant), today=MID_2026)
    assert (report.year, report.as_of, report.year_is_over) == (2025, dt.date(2025, 12, 31), True)
    assert [a.application.name for a in report.apps] == ["Alfa", "Beta"]
    alfa, beta = report.apps
    assert len(alfa.months) == 12
    assert (alfa.cost.so_far_ore, alfa.cost.projected_ore) == (1_000_000, 1_000_000)
    assert beta.months[3].launches == 3
    # 3 launches * 500 øre, the whole year counted.
    assert (beta.cost.so_far_ore, beta.cost.projected_ore) == (1_500, 1_500)


def test_one_apps_impossible_price_does_not_hide_the_others() -> None:
    tenant = TenantFactory(population=0)
    broken = _app(
        PriceModel.BASIS_USAGE, 100_000, usage_unit=UsageUnit.LAUNCH, basis_share_percent=50
    )
    free = _app(PriceModel.FREE)
    _subscribe(tenant, broken)
    _subscribe(tenant, free)
    report = costs.tenant_usage(tenant, year=None, by=admin_of(tenant), today=MID_2026)
    problems = {a.application.id: (a.cost, a.cost_problem) for a in report.apps}
    assert problems[broken.id] == (
        None,
        "A price shared by population needs subscribers with inhabitants.",
    )
    assert problems[free.id][0].so_far_ore == 0


def test_only_the_municipalitys_own_admins_see_its_usage() -> None:
    oslo, bergen = TenantFactory(), TenantFactory()
    for stranger in (admin_of(bergen), clinician_of(oslo), UserFactory()):
        with pytest.raises(Forbidden):
            costs.tenant_usage(oslo, year=None, by=stranger, today=MID_2026)


def test_a_bad_year_is_refused_before_anything_is_read() -> None:
    tenant = TenantFactory()
    with pytest.raises(Invalid) as refused:
        costs.tenant_usage(tenant, year=2027, by=admin_of(tenant), today=MID_2026)
    assert "year" in refused.value.fields


# --- the vendor's report ----------------------------------------------------------------


def test_application_usage_counts_per_municipality_and_in_total() -> None:
    app = _app(PriceModel.FREE)
    vinje = TenantFactory(organisation__name="Vinje kommune")
    alta = TenantFactory(organisation__name="Alta kommune")
    sandbox = TenantFactory(organisation__name="Sandkasse kommune")
    idle = TenantFactory(organisation__name="Øvre kommune")
    TenantFactory(organisation__name="Stranger kommune")  # neither enabled nor used it
    _subscribe(vinje, app)
    _subscribe(alta, app, active=False)
    _subscribe(idle, app)
    _launches(vinje, app, dt.date(2026, 2, 3), 4, user="Practitioner/kari")
    _launches(alta, app, dt.date(2026, 2, 4), 2)
    _launches(sandbox, app, dt.date(2026, 5, 4), 1)
    _launches(vinje, app, dt.date(2025, 2, 3), 9)  # another year
    report = costs.application_usage(app, year=2026, by=member_of(app.vendor), today=MID_2026)
    assert report.year == 2026
    rows = [(r.tenant.name, r.state) for r in report.municipalities]
    # Norwegian order: Ø after the other letters.
    assert rows == [
        ("Alta kommune", EnablementState.DISABLED),
        ("Sandkasse kommune", None),
        ("Vinje kommune", EnablementState.ACTIVE),
        ("Øvre kommune", EnablementState.ACTIVE),
    ]
    by_name = {r.tenant.name: r for r in report.municipalities}
    feb = by_name["Vinje kommune"].months[1]
    assert (feb.launches, feb.active_users) == (4, 1)  # one person, four launches
    assert sum(m.launches for m in by_name["Øvre kommune"].months) == 0
    total = report.total
    # February: Vinje 4 + Alta 2 launches; 1 + 2 people. May: the sandbox's 1.
    assert (total[1].launches, total[1].active_users, total[4].launches) == (6, 3, 1)
    assert sum(m.launches for m in total) == 7


def test_only_the_apps_vendor_sees_its_usage() -> None:
    app = _app(PriceModel.FREE)
    other_vendor_member = member_of(ApplicationFactory().vendor)
    tenant = TenantFactory()
    for stranger in (other_vendor_member, admin_of(tenant), UserFactory()):
        with pytest.raises(Forbidden):
            costs.application_usage(app, year=None, by=stranger, today=MID_2026)
