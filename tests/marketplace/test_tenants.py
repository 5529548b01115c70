"""Tenants: the public list and API, each municipality's page and who may see it."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from accounts.models import Role
from marketplace import tenants
from marketplace.tenants import norwegian_sort_key
from tests.conftest import login
from tests.factories.accounts import PASSWORD, MembershipFactory, UserFactory
from tests.factories.marketplace import TenantFactory
from torget.errors import Conflict, Invalid


def test_norwegian_letters_sort_after_z() -> None:
    names = ["Ålesund", "Bodø", "Øygarden", "Zeta", "Ærøy", "Bærum", "bergen", "Évje"]
    assert sorted(names, key=norwegian_sort_key) == [
        "bergen",
        "Bodø",
        "Bærum",
        "Évje",
        "Zeta",
        "Ærøy",
        "Øygarden",
        "Ålesund",
    ]


def test_list_page_and_api_show_tenants_in_norwegian_order(client: FlaskClient) -> None:
    for name in ("Åsnes", "Øyer", "Bodø"):
        TenantFactory(organisation__name=name, population=1234)
    page = client.get("/m/").get_data(as_text=True)
    assert page.index("Bodø") < page.index("Øyer") < page.index("Åsnes")
    assert "1\u00a0234" in page  # bokmål groups thousands with a no-break space

    listed = client.get("/api/v1/tenants").get_json()
    assert [t["name"] for t in listed] == ["Bodø", "Øyer", "Åsnes"]
    assert set(listed[0]) == {"slug", "name", "organisation_number", "population"}


def test_api_tenant_by_slug_and_unknown_slug(client: FlaskClient) -> None:
    tenant = TenantFactory(organisation__slug="oslo", organisation__name="Oslo")
    found = client.get("/api/v1/tenants/oslo").get_json()
    assert found["name"] == "Oslo"
    assert found["organisation_number"] == tenant.organisation.organisation_number

    missing = client.get("/api/v1/tenants/atlantis")
    assert missing.status_code == 404
    assert missing.content_type == "application/problem+json"


def test_tenant_names_are_escaped(client: FlaskClient) -> None:
    TenantFactory(organisation__name="<script>alert(1)</script>")
    page = client.get("/m/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.fixture
def oslo_and_bergen() -> tuple[object, object]:
    oslo = TenantFactory(organisation__slug="oslo", organisation__name="Oslo")
    bergen = TenantFactory(organisation__slug="bergen", organisation__name="Bergen")
    return oslo, bergen


def _member(tenant: object, role: Role, email: str) -> None:
    MembershipFactory(user=UserFactory(email=email), role=role, organisation=tenant.organisation)


def test_admin_sees_members_of_own_tenant(client: FlaskClient, oslo_and_bergen) -> None:
    oslo, _ = oslo_and_bergen
    _member(oslo, Role.MUNICIPAL_ADMIN, "admin@oslo.kommune.no")
    _member(oslo, Role.CLINICIAN, "lege@oslo.kommune.no")
    login(client, "admin@oslo.kommune.no", PASSWORD)
    page = client.get("/m/oslo/")
    assert page.status_code == 200
    assert "lege@oslo.kommune.no" in page.get_data(as_text=True)


def test_clinician_sees_tenant_but_not_its_members(client: FlaskClient, oslo_and_bergen) -> None:
    oslo, _ = oslo_and_bergen
    _member(oslo, Role.CLINICIAN, "lege@oslo.kommune.no")
    _member(oslo, Role.MUNICIPAL_ADMIN, "admin@oslo.kommune.no")
    login(client, "lege@oslo.kommune.no", PASSWORD)
    page = client.get("/m/oslo/")
    assert page.status_code == 200
    assert "admin@oslo.kommune.no" not in page.get_data(as_text=True)


def test_admin_of_another_tenant_is_forbidden(client: FlaskClient, oslo_and_bergen) -> None:
    _, bergen = oslo_and_bergen
    _member(bergen, Role.MUNICIPAL_ADMIN, "admin@bergen.kommune.no")
    login(client, "admin@bergen.kommune.no", PASSWORD)
    assert client.get("/m/oslo/").status_code == 403
    assert client.get("/m/bergen/").status_code == 200


def test_tenant_page_needs_sign_in(client: FlaskClient, oslo_and_bergen) -> None:
    response = client.get("/m/oslo/")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_create_tenant_rejects_negative_population_and_duplicates(app, db_session) -> None:
    with pytest.raises(Invalid):
        tenants.create_tenant(
            slug="ny", name="Ny kommune", organisation_number="964338531", population=-1
        )
    tenants.create_tenant(
        slug="ny", name="Ny kommune", organisation_number="964338531", population=10
    )
    with pytest.raises(Conflict):
        tenants.create_tenant(
            slug="ny", name="Ny kommune", organisation_number="964338531", population=10
        )
