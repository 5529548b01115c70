"""The app page offers what a visitor can do: admins enable and see the cost, clinicians ask."""

from __future__ import annotations

from html import unescape

from catalog.models import PriceModel, ReleaseState
from marketplace import enablements, terms
from marketplace.enablements import Access
from tests.conftest import csrf_token, login
from tests.factories.accounts import PASSWORD
from tests.factories.catalog import ReleaseFactory
from tests.factories.marketplace import TenantFactory, admin_of, clinician_of


def _page(client, user, slug: str) -> str:
    if user is not None:
        assert login(client, user.email, PASSWORD).status_code == 303
        client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client, "/account")})
    return unescape(client.get(f"/apps/{slug}").get_data(as_text=True))


def _per_inhabitant_app():
    return ReleaseFactory(
        state=ReleaseState.CERTIFIED,
        scopes="launch patient/Observation.rs",
        application__price_model=PriceModel.PER_INHABITANT,
        application__price_ore=250,
    ).application


def test_an_admin_sees_the_cost_and_may_enable_or_propose(client, db_session) -> None:
    app = _per_inhabitant_app()
    tenant = TenantFactory(organisation__name="Vinje", population=3_800)
    page = _page(client, admin_of(tenant), app.slug)
    # Not subscribing: a whole year at 2.50 kr x 3 800 inhabitants = 9 500 kr.
    assert "What it costs Vinje" in page
    assert "9,500.00 kr" in page
    assert f'href="/m/{tenant.slug}/apps/{app.slug}/enable"' in page
    assert f'href="/m/{tenant.slug}/joint/new/{app.slug}"' in page
    assert "Ask your municipality" not in page


def test_an_admin_whose_municipality_uses_it_is_sent_to_its_page(client, db_session) -> None:
    app = _per_inhabitant_app()
    tenant = TenantFactory()
    admin = admin_of(tenant)
    enablements.enable(
        tenant, app, Access(["launch"], ["clinician"]), terms_version=terms.VERSION, by=admin
    )
    page = _page(client, admin, app.slug)
    assert f'href="/m/{tenant.slug}/apps/{app.slug}"' in page
    assert "/enable" not in page


def test_a_clinician_may_ask_and_a_visitor_is_offered_nothing(client, db_session) -> None:
    app = _per_inhabitant_app()
    clinician = clinician_of(TenantFactory())
    anonymous = _page(client, None, app.slug)
    assert "actions-title" not in anonymous
    assert "cost-title" not in anonymous
    page = _page(client, clinician, app.slug)
    assert f'href="/apps/{app.slug}/request"' in page
    assert "cost-title" not in page
