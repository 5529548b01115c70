"""The usage and cost pages and the CSV export: who sees them, what they show, bad input.

Figures are checked on a year that is over (2025), so they do not move with
the clock: a finished year is counted to 31 December.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from html import unescape

import pytest

from catalog.models import PriceModel, ReleaseState, UsageUnit
from marketplace import usage
from marketplace.models import Enablement, EnablementState
from tests.conftest import csrf_token
from tests.conftest import sign_in_in_english as _sign_in
from tests.factories.accounts import UserFactory
from tests.factories.catalog import ApplicationFactory, ReleaseFactory, member_of
from tests.factories.marketplace import TenantFactory, admin_of, clinician_of
from torget.db import db

YEAR = 2025


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def _subscribe(tenant, application, *, active: bool = True) -> None:
    db.session.add(
        Enablement(
            tenant=tenant,
            application=application,
            release=ReleaseFactory(application=application, state=ReleaseState.CERTIFIED),
            state=EnablementState.ACTIVE if active else EnablementState.DISABLED,
            approved_scopes="launch patient/Observation.rs",
            roles=["clinician"],
        )
    )
    db.session.flush()


def _use(tenant, application, day: dt.date, launches: int, people: int = 1) -> None:
    at = dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC)
    for i in range(launches):
        usage.record_launch(tenant, application, f"Practitioner/{i % people}", at)
        usage.record_token(tenant, application, at)


@pytest.fixture
def bodo():
    """Bodø (53 000 inhabitants) uses Alfa (2.50 kr per inhabitant) and Beta (3.00 kr per
    launch: 4 in March 2025 by 2 people, 6 in June by 3); it dropped Gamma."""
    tenant = TenantFactory(
        organisation__slug="bodo-test", organisation__name="Bodø kommune", population=53_000
    )
    alfa = ApplicationFactory(
        slug="alfa", name="Alfa", price_model=PriceModel.PER_INHABITANT, price_ore=250
    )
    beta = ApplicationFactory(
        slug="beta",
        name="Beta",
        price_model=PriceModel.PER_USE,
        price_ore=300,
        usage_unit=UsageUnit.LAUNCH,
    )
    gamma = ApplicationFactory(slug="gamma", name="Gamma")
    _subscribe(tenant, alfa)
    _subscribe(tenant, beta)
    _subscribe(tenant, gamma, active=False)
    _use(tenant, beta, dt.date(YEAR, 3, 10), 4, people=2)
    _use(tenant, beta, dt.date(YEAR, 6, 2), 6, people=3)
    return {"tenant": tenant, "alfa": alfa, "beta": beta, "gamma": gamma}


# --- the municipality's page ------------------------------------------------------------


def test_an_admin_sees_each_active_apps_usage_and_cost(client, bodo) -> None:
    _sign_in(client, admin_of(bodo["tenant"]))
    response = client.get(f"/m/bodo-test/usage?year={YEAR}")
    assert response.status_code == 200
    page = _text(response)
    assert "<h1>Usage and cost in 2025</h1>" in page
    assert "The whole year." in page
    assert '<h2 id="usage-alfa">Alfa</h2>' in page
    assert '<h2 id="usage-beta">Beta</h2>' in page
    assert "Gamma" not in page  # disabled: not an app the municipality uses
    # The price line and the year's cost: 2.50 kr * 53 000 = 132 500 kr; 10 launches * 3 kr.
    assert "2.50 kr per inhabitant per year" in page
    assert "<dt>Cost in 2025</dt>\n          <dd>132,500.00 kr</dd>" in page
    assert "<dd>30.00 kr</dd>" in page
    # Each app's chart: an image named by its title, with its figures in a table.
    title = "Beta: launches and active users per month in 2025"
    assert re.search(
        r'<svg class="chart-svg" role="img" aria-labelledby="usage-chart-beta-title', page
    )
    assert f'<title id="usage-chart-beta-title">{title}</title>' in page
    assert f'<caption id="usage-chart-beta-caption">{title}</caption>' in page
    table = page[page.index('<caption id="usage-chart-beta-caption">') :]
    launches = re.search(r'<th scope="row">Launches</th>(.*?)</tr>', table, re.DOTALL).group(1)
    assert re.findall(r"<td>(.*?)</td>", launches) == [
        "0", "0", "4", "0", "0", "6", "0", "0", "0", "0", "0", "0", "10",
    ]  # fmt: skip
    people = re.search(r'<th scope="row">Active users</th>(.*?)</tr>', table, re.DOTALL).group(1)
    assert re.findall(r"<td>(.*?)</td>", people)[2:6] == ["2", "0", "0", "3"]
    # The year form and the export of the same year.
    assert '<label for="year">Year</label>' in page
    assert 'id="year" name="year" type="number"' in page
    assert f'href="/m/bodo-test/usage.csv?year={YEAR}"' in page


def test_this_year_shows_the_cost_so_far_and_projected(client, bodo) -> None:
    _sign_in(client, admin_of(bodo["tenant"]))
    page = _text(client.get("/m/bodo-test/usage"))
    assert "Counted up to and including" in page
    assert page.count("<dt>Cost so far this year</dt>") == 2
    assert page.count("<dt>Projected for the whole year</dt>") == 2


def test_a_municipality_without_apps_is_told_so(client) -> None:
    tenant = TenantFactory(organisation__slug="vinje-test", organisation__name="Vinje kommune")
    _sign_in(client, admin_of(tenant))
    page = _text(client.get("/m/vinje-test/usage"))
    assert "Vinje kommune has no app enabled." in page


def test_an_impossible_price_is_explained_and_the_page_still_shows(client) -> None:
    tenant = TenantFactory(organisation__slug="tom", population=0)
    app = ApplicationFactory(
        name="Delt",
        price_model=PriceModel.BASIS_USAGE,
        price_ore=100_000,
        usage_unit=UsageUnit.LAUNCH,
        basis_share_percent=50,
    )
    _subscribe(tenant, app)
    _sign_in(client, admin_of(tenant))
    response = client.get(f"/m/tom/usage?year={YEAR}")
    assert response.status_code == 200
    assert (
        "Cannot be worked out: A price shared by population needs subscribers with inhabitants."
        in _text(response)
    )


@pytest.mark.parametrize("path", ["/m/bodo-test/usage", "/m/bodo-test/usage.csv"])
def test_nobody_but_the_municipalitys_admins_sees_its_usage(client, bodo, path) -> None:
    other = TenantFactory(organisation__slug="bergen-test")
    for stranger in (
        admin_of(other),
        clinician_of(bodo["tenant"]),
        member_of(bodo["beta"].vendor),
        UserFactory(),
    ):
        _sign_in(client, stranger)
        response = client.get(path)
        assert response.status_code == 403, stranger
        assert "132,500.00" not in _text(response)
        client.post("/logout", data={"csrf_token": csrf_token(client, "/m/")})


def test_a_visitor_is_sent_to_sign_in(client, bodo) -> None:
    response = client.get("/m/bodo-test/usage")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("year", ["abc", "2025.5", "", "1999", "2019", "9999", "1" * 30])
@pytest.mark.parametrize("path", ["/m/bodo-test/usage", "/m/bodo-test/usage.csv"])
def test_a_bad_year_is_a_422_page(client, bodo, year, path) -> None:
    _sign_in(client, admin_of(bodo["tenant"]))
    response = client.get(path, query_string={"year": year})
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    page = _text(response)
    assert "Enter a year, like 2026." in page or "Choose a year from 2020 to" in page


def test_the_pages_are_read_only(client, bodo) -> None:
    _sign_in(client, admin_of(bodo["tenant"]))
    token = csrf_token(client, "/m/")
    response = client.post("/m/bodo-test/usage", data={"csrf_token": token})
    assert response.status_code == 405


# --- the CSV export ---------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_csv_has_a_row_per_app_and_month_with_the_counts_and_cost(client, bodo) -> None:
    _sign_in(client, admin_of(bodo["tenant"]))
    response = client.get(f"/m/bodo-test/usage.csv?year={YEAR}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="torget-usage-bodo-test-2025.csv"'
    )
    header, *rows = _csv(response)
    assert header == [
        "app_slug",
        "app_name",
        "month",
        "launches",
        "tokens",
        "active_users",
        "cost_accrued_nok",
    ]
    assert len(rows) == 24  # two active apps, twelve months each
    by_key = {(r[0], r[2]): r for r in rows}
    assert [r[2] for r in rows[:12]] == [f"2025-{m:02d}" for m in range(1, 13)]
    # Beta: 4 launches by 2 people in March (4 * 3 kr by then), 6 by 3 in June (10 * 3 kr).
    assert by_key[("beta", "2025-03")] == ["beta", "Beta", "2025-03", "4", "4", "2", "12.00"]
    assert by_key[("beta", "2025-05")][3:] == ["0", "0", "0", "12.00"]
    assert by_key[("beta", "2025-06")][3:] == ["6", "6", "3", "30.00"]
    assert by_key[("beta", "2025-12")][6] == "30.00"
    # Alfa: 13 250 000 øre a year accrues by day; by 31 January 13 250 000 * 31/365 =
    # 1 125 342.4... → 1 125 342 øre; the whole year by 31 December.
    assert by_key[("alfa", "2025-01")][3:] == ["0", "0", "0", "11253.42"]
    assert by_key[("alfa", "2025-12")][6] == "132500.00"


@pytest.mark.parametrize("name", ['=HYPERLINK("https://evil.example")', "+47", "-1", "@SUM(A1)"])
def test_the_csv_never_starts_a_cell_with_a_formula(client, name) -> None:
    tenant = TenantFactory(organisation__slug="ringsaker-test")
    _subscribe(tenant, ApplicationFactory(slug="formel", name=name))
    _sign_in(client, admin_of(tenant))
    _header, *rows = _csv(client.get(f"/m/ringsaker-test/usage.csv?year={YEAR}"))
    assert len(rows) == 12
    assert {r[1] for r in rows} == {"'" + name}


def test_an_ordinary_name_is_left_as_it_is(client, bodo) -> None:
    _sign_in(client, admin_of(bodo["tenant"]))
    _header, *rows = _csv(client.get(f"/m/bodo-test/usage.csv?year={YEAR}"))
    assert {r[1] for r in rows} == {"Alfa", "Beta"}


# --- the vendor's page ------------------------------------------------------------------


@pytest.fixture
def spread(bodo):
    """Beta is used in Bodø (above) and Bergen (2 launches in June 2025); Oslo dropped it."""
    bergen = TenantFactory(organisation__slug="bergen-test", organisation__name="Bergen kommune")
    oslo = TenantFactory(organisation__slug="oslo-test", organisation__name="Oslo kommune")
    _subscribe(bergen, bodo["beta"])
    _subscribe(oslo, bodo["beta"], active=False)
    _use(bergen, bodo["beta"], dt.date(YEAR, 6, 20), 2, people=2)
    return bodo


def test_the_vendor_sees_its_apps_counts_per_municipality(client, spread) -> None:
    beta = spread["beta"]
    _sign_in(client, member_of(beta.vendor))
    response = client.get(f"/vendor/apps/beta/usage?year={YEAR}")
    assert response.status_code == 200
    page = _text(response)
    assert "<h1>Usage of Beta in 2025</h1>" in page
    # The total's chart: June has Bodø's 6 and Bergen's 2 launches.
    title = "Beta in all municipalities: launches and active users per month in 2025"
    assert f'<title id="usage-chart-total-title">{title}</title>' in page
    total = page[page.index('<caption id="usage-chart-total-caption">') :]
    launches = re.search(r'<th scope="row">Launches</th>(.*?)</tr>', total, re.DOTALL).group(1)
    assert re.findall(r"<td>(.*?)</td>", launches)[5] == "8"
    # Per municipality, in Norwegian order, with the state of each enablement.
    names = re.findall(r'<th scope="rowgroup" rowspan="2">\s*(.*?)\s*<span', page)
    assert names == ["Bergen kommune", "Bodø kommune", "Oslo kommune"]
    assert "(disabled)" in page
    assert page.count("(enabled)") == 2
    # Counts only: nothing that names a person.
    assert "Practitioner" not in page


@pytest.mark.parametrize("who", ["other vendor", "admin", "clinician", "reviewer-less user"])
def test_nobody_but_the_vendors_members_sees_the_apps_usage(client, spread, who) -> None:
    stranger = {
        "other vendor": lambda: member_of(ApplicationFactory().vendor),
        "admin": lambda: admin_of(spread["tenant"]),
        "clinician": lambda: clinician_of(spread["tenant"]),
        "reviewer-less user": UserFactory,
    }[who]()
    _sign_in(client, stranger)
    response = client.get("/vendor/apps/beta/usage")
    assert response.status_code == 403
    assert "Bergen kommune" not in _text(response)


def test_the_vendor_page_for_an_unknown_app_is_404(client, spread) -> None:
    _sign_in(client, member_of(spread["beta"].vendor))
    assert client.get("/vendor/apps/no-such-app/usage").status_code == 404


def test_the_vendor_page_refuses_a_bad_year(client, spread) -> None:
    _sign_in(client, member_of(spread["beta"].vendor))
    for year in ("x", "2019", "9999"):
        assert client.get(f"/vendor/apps/beta/usage?year={year}").status_code == 422


def test_the_vendor_page_sends_a_visitor_to_sign_in(client, spread) -> None:
    assert client.get("/vendor/apps/beta/usage").status_code == 302
