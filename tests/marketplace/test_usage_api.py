"""The usage and cost API: what it answers, to whom, and its problem+json refusals.

Figures are checked on a year that is over (2025), so they do not move with the clock.
"""

from __future__ import annotations

import datetime as dt

import pytest

from catalog.models import PriceModel, ReleaseState, UsageUnit
from marketplace import usage
from marketplace.models import Enablement, EnablementState
from tests.conftest import bearer as _bearer
from tests.factories.accounts import UserFactory
from tests.factories.catalog import ApplicationFactory, ReleaseFactory, member_of
from tests.factories.marketplace import TenantFactory, admin_of, clinician_of
from torget.db import db

YEAR = 2025
PROBLEM = "application/problem+json"


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


def _pointers(response) -> set[str]:
    return {e["pointer"] for e in response.get_json().get("errors", [])}


@pytest.fixture
def bodo():
    """Bodø (53 000 inhabitants) uses Alfa (2.50 kr per inhabitant) and Beta (3.00 kr per
    launch: 4 in March 2025 by 2 people, 6 in June by 3); Bergen uses Beta too (2 in June);
    Oslo dropped it."""
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
    bergen = TenantFactory(organisation__slug="bergen-test", organisation__name="Bergen kommune")
    oslo = TenantFactory(organisation__slug="oslo-test", organisation__name="Oslo kommune")
    _subscribe(tenant, alfa)
    _subscribe(tenant, beta)
    _subscribe(bergen, beta)
    _subscribe(oslo, beta, active=False)
    _use(tenant, beta, dt.date(YEAR, 3, 10), 4, people=2)
    _use(tenant, beta, dt.date(YEAR, 6, 2), 6, people=3)
    _use(bergen, beta, dt.date(YEAR, 6, 20), 2, people=2)
    return {"tenant": tenant, "alfa": alfa, "beta": beta, "bergen": bergen}


# --- a municipality's usage -------------------------------------------------------------


def test_an_admin_reads_the_municipalitys_usage_and_cost(client, bodo) -> None:
    response = client.get(
        f"/api/v1/tenants/bodo-test/usage?year={YEAR}", headers=_bearer(admin_of(bodo["tenant"]))
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["tenant"], body["year"], body["as_of"]) == ("bodo-test", 2025, "2025-12-31")
    alfa, beta = body["applications"]
    assert (alfa["slug"], alfa["name"], alfa["price_model"]) == ("alfa", "Alfa", "per_inhabitant")
    assert "2,50 kr" in alfa["price"]  # in the reader's language: bokmål by default
    # 2.50 kr * 53 000 inhabitants = 13 250 000 øre for the year.
    assert alfa["cost"]["so_far_ore"] == alfa["cost"]["projected_ore"] == 13_250_000
    assert alfa["cost"]["so_far_nok"] == "132500.00"
    assert [m["month"] for m in beta["months"]] == [f"2025-{m:02d}" for m in range(1, 13)]
    assert beta["months"][2] == {"month": "2025-03", "launches": 4, "tokens": 4, "active_users": 2}
    assert beta["months"][5]["launches"] == 6
    # 10 launches * 300 øre; accrued 1 200 by March, 3 000 by June.
    assert beta["cost"] == {
        "as_of": "2025-12-31",
        "subscribing": True,
        "units": 10,
        "so_far_ore": 3_000,
        "so_far_nok": "30.00",
        "projected_ore": 3_000,
        "projected_nok": "30.00",
        "by_month_ore": [
            0,
            0,
            1_200,
            1_200,
            1_200,
            3_000,
            3_000,
            3_000,
            3_000,
            3_000,
            3_000,
            3_000,
        ],
    }
    assert beta["cost_problem"] == ""


def test_this_year_is_counted_to_today(client, bodo) -> None:
    response = client.get(
        "/api/v1/tenants/bodo-test/usage", headers=_bearer(admin_of(bodo["tenant"]))
    )
    assert response.status_code == 200
    body = response.get_json()
    as_of = dt.date.fromisoformat(body["as_of"])
    assert body["year"] == as_of.year
    # Months after today are not yet accrued.
    by_month = body["applications"][0]["cost"]["by_month_ore"]
    assert by_month[as_of.month - 1] is not None
    assert all(v is None for v in by_month[as_of.month :])


def test_a_visitor_needs_a_token(client, bodo) -> None:
    response = client.get("/api/v1/tenants/bodo-test/usage")
    assert response.status_code == 401
    assert response.mimetype == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("who", ["other admin", "clinician", "vendor member", "nobody"])
def test_nobody_but_the_municipalitys_admins_reads_its_usage(client, bodo, who) -> None:
    user = {
        "other admin": lambda: admin_of(bodo["bergen"]),
        "clinician": lambda: clinician_of(bodo["tenant"]),
        "vendor member": lambda: member_of(bodo["beta"].vendor),
        "nobody": UserFactory,
    }[who]()
    response = client.get("/api/v1/tenants/bodo-test/usage", headers=_bearer(user))
    assert response.status_code == 403
    assert response.mimetype == PROBLEM
    assert "applications" not in response.get_json()


def test_an_unknown_municipality_is_refused_without_saying_whether_it_exists(client, bodo) -> None:
    response = client.get(
        "/api/v1/tenants/no-such-place/usage", headers=_bearer(admin_of(bodo["tenant"]))
    )
    assert response.status_code == 403
    assert response.mimetype == PROBLEM


@pytest.mark.parametrize("year", ["abc", "2025.5", "", "2019", "9999", "1" * 30])
def test_a_bad_year_is_a_422_on_the_year(client, bodo, year) -> None:
    response = client.get(
        "/api/v1/tenants/bodo-test/usage",
        query_string={"year": year},
        headers=_bearer(admin_of(bodo["tenant"])),
    )
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    assert _pointers(response) == {"#/year"}


# --- an app's usage, for its vendor -------------------------------------------------------


def test_the_vendor_reads_its_apps_usage_per_municipality(client, bodo) -> None:
    response = client.get(
        f"/api/v1/applications/beta/usage?year={YEAR}",
        headers=_bearer(member_of(bodo["beta"].vendor)),
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["application"], body["year"]) == ("beta", 2025)
    rows = [(m["slug"], m["name"], m["enablement_state"]) for m in body["municipalities"]]
    assert rows == [
        ("bergen-test", "Bergen kommune", "active"),
        ("bodo-test", "Bodø kommune", "active"),
        ("oslo-test", "Oslo kommune", "disabled"),
    ]
    bodo_row = body["municipalities"][1]
    assert bodo_row["months"][2] == {
        "month": "2025-03",
        "launches": 4,
        "tokens": 4,
        "active_users": 2,
    }
    # June: Bodø's 6 launches by 3 people and Bergen's 2 by 2.
    assert body["total"][5] == {"month": "2025-06", "launches": 8, "tokens": 8, "active_users": 5}
    assert sum(m["launches"] for m in body["total"]) == 12
    # Counts only: nothing that names a person.
    assert "Practitioner" not in response.get_data(as_text=True)


@pytest.mark.parametrize("who", ["other vendor", "admin", "clinician"])
def test_nobody_but_the_vendors_members_reads_the_apps_usage(client, bodo, who) -> None:
    user = {
        "other vendor": lambda: member_of(ApplicationFactory().vendor),
        "admin": lambda: admin_of(bodo["tenant"]),
        "clinician": lambda: clinician_of(bodo["tenant"]),
    }[who]()
    response = client.get("/api/v1/applications/beta/usage", headers=_bearer(user))
    assert response.status_code == 403
    assert response.mimetype == PROBLEM
    assert "municipalities" not in response.get_json()


def test_the_app_usage_of_an_unknown_app_is_404(client, bodo) -> None:
    response = client.get(
        "/api/v1/applications/no-such-app/usage", headers=_bearer(member_of(bodo["beta"].vendor))
    )
    assert response.status_code == 404
    assert response.mimetype == PROBLEM


def test_the_app_usage_needs_a_token_and_a_good_year(client, bodo) -> None:
    assert client.get("/api/v1/applications/beta/usage").status_code == 401
    response = client.get(
        "/api/v1/applications/beta/usage?year=1999",
        headers=_bearer(member_of(bodo["beta"].vendor)),
    )
    assert response.status_code == 422
    assert _pointers(response) == {"#/year"}


def test_the_usage_api_is_read_only(client, bodo) -> None:
    headers = _bearer(admin_of(bodo["tenant"]))
    assert client.post("/api/v1/tenants/bodo-test/usage", headers=headers).status_code == 405


# --- the OpenAPI document -------------------------------------------------------------------


def test_the_usage_endpoints_are_documented_with_their_errors(client) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/tenants/{slug}/usage", "/api/v1/applications/{slug}/usage"):
        operation = document["paths"][path]["get"]
        assert operation["summary"], path
        assert [p["name"] for p in operation["parameters"] if p["in"] == "query"] == ["year"]
        assert {"200", "401", "403", "404", "422", "default"} <= set(operation["responses"])
        assert list(operation["responses"]["403"]) == ["$ref"]
