"""The catalog API: GET /api/v1/apps (search, facets, sorting, pages) and /api/v1/apps/<slug>."""

from __future__ import annotations

import datetime as dt

import pytest
from flask.testing import FlaskClient

from catalog.models import (
    Audience,
    Category,
    CriterionCheck,
    Outcome,
    PriceModel,
    ReleaseState,
    Screenshot,
)
from tests.factories.catalog import (
    ApplicationFactory,
    CriterionFactory,
    EvidenceFactory,
    ReleaseFactory,
    VendorFactory,
)
from tests.marketplace.test_listings import VITALS, listed
from torget.db import db, utcnow

S = ReleaseState
PROBLEM = "application/problem+json"


@pytest.fixture
def catalog(client: FlaskClient) -> dict[str, object]:
    nordlys = VendorFactory(organisation__slug="nordlys", organisation__name="Nordlys Helse AS")
    nordlys.verified_at = utcnow()
    fjord = VendorFactory(organisation__slug="fjordkode", organisation__name="Fjordkode AS")
    now = utcnow()
    releases = {
        "news2": listed(
            "NEWS2 Varsel",
            slug="news2-varsel",
            vendor=nordlys,
            summary_en="Warns early of a deteriorating patient.",
            description_nb="Regner ut skåren fra vitale målinger.",
            price_model=PriceModel.PER_INHABITANT,
            price_ore=250,
            scopes=VITALS,
            certified_at=now - dt.timedelta(days=3),
        ),
        "oversikt": listed(
            "Tjenesteoversikt",
            slug="tjenesteoversikt",
            vendor=fjord,
            category=Category.CARE_COORDINATION,
            description_en="Home care and nursing homes in one view.",
            price_model=PriceModel.FIXED,
            price_ore=4_500_000,
            scopes="launch openid patient/EpisodeOfCare.rs patient/CarePlan.rs",
            certified_at=now - dt.timedelta(days=1),
        ),
        "stats": listed(
            "Kommunestatistikk",
            slug="kommunestatistikk",
            vendor=fjord,
            category=Category.ANALYTICS,
            audience=Audience.BACKEND,
            scopes="system/Encounter.rs system/Observation.rs",
            certified_at=now - dt.timedelta(days=2),
        ),
    }
    revoked = ApplicationFactory(name="Tilbakekalt", slug="tilbakekalt", vendor=fjord)
    ReleaseFactory(application=revoked, version="1.0.0", state=S.REVOKED)
    draft = ApplicationFactory(name="Utkastappen", slug="utkastappen", vendor=nordlys)
    ReleaseFactory(application=draft, version="0.1.0", state=S.DRAFT)
    db.session.flush()
    return releases


def _slugs(body: dict) -> list[str]:
    return [item["slug"] for item in body["items"]]


def _counts(body: dict, facet: str) -> dict[str, int]:
    return {v["value"]: v["count"] for v in body["facets"][facet]}


def test_the_list_is_public_and_holds_certified_apps_only(client, catalog) -> None:
    response = client.get("/api/v1/apps")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert _slugs(body) == ["kommunestatistikk", "news2-varsel", "tjenesteoversikt"]
    assert (body["total"], body["page"], body["page_size"], body["total_pages"]) == (3, 1, 20, 1)
    assert body["sort"] == "name"
    news2 = body["items"][1]
    assert news2 == {
        "slug": "news2-varsel",
        "name": "NEWS2 Varsel",
        "vendor": {
            "slug": "nordlys",
            "name": "Nordlys Helse AS",
            "verified": True,
            "website": "https://vendor.example",
        },
        "summary_nb": "Kort om appen.",
        "summary_en": "Warns early of a deteriorating patient.",
        "category": "clinical_decision_support",
        "audience": "clinician",
        "price_model": "per_inhabitant",
        "price": "2,50 kr per innbygger per år",
        "logo_url": None,
        "release": {
            "version": "1.0.0",
            "certified_at": catalog["news2"].certified_at.isoformat(),
        },
        "data": ["Observation", "Patient"],
    }


def test_the_facets_come_with_their_counts(client, catalog) -> None:
    body = client.get("/api/v1/apps").get_json()
    assert _counts(body, "category") == {
        "clinical_decision_support": 1,
        "care_coordination": 1,
        "analytics": 1,
    }
    assert _counts(body, "audience") == {"clinician": 2, "backend": 1}
    assert _counts(body, "price_model") == {"fixed": 1, "per_inhabitant": 1, "free": 1}
    assert _counts(body, "vendor") == {"fjordkode": 2, "nordlys": 1}
    assert _counts(body, "data") == {
        "CarePlan": 1,
        "Encounter": 1,
        "EpisodeOfCare": 1,
        "Observation": 2,
        "Patient": 1,
    }
    assert body["facets"]["vendor"][0] == {
        "value": "fjordkode",
        "label": "Fjordkode AS",
        "count": 2,
        "selected": False,
    }


def test_search_and_a_facet_as_query_parameters(client, catalog) -> None:
    body = client.get("/api/v1/apps?q=fjordkode&data=Observation").get_json()
    assert _slugs(body) == ["kommunestatistikk"]
    assert _counts(body, "data") == {
        "CarePlan": 1,
        "Encounter": 1,
        "EpisodeOfCare": 1,
        "Observation": 1,
    }
    assert body["facets"]["data"][0]["selected"] is False
    assert [v["value"] for v in body["facets"]["data"] if v["selected"]] == ["Observation"]
    assert body["sort"] == "relevance"

    assert _slugs(client.get("/api/v1/apps?q=nursing").get_json()) == ["tjenesteoversikt"]
    assert _slugs(client.get("/api/v1/apps?q=målinger").get_json()) == ["news2-varsel"]
    body = client.get(
        "/api/v1/apps?category=analytics&category=care_coordination&vendor=fjordkode"
    ).get_json()
    assert _slugs(body) == ["kommunestatistikk", "tjenesteoversikt"]
    assert client.get("/api/v1/apps?price_model=free&audience=patient").get_json()["total"] == 0


def test_sorting_and_pages(client, catalog) -> None:
    body = client.get("/api/v1/apps?sort=newest").get_json()
    assert _slugs(body) == ["tjenesteoversikt", "kommunestatistikk", "news2-varsel"]
    assert body["sort"] == "newest"
    body = client.get("/api/v1/apps?sort=newest&page=2&page_size=2").get_json()
    assert _slugs(body) == ["news2-varsel"]
    assert (body["total"], body["page"], body["page_size"], body["total_pages"]) == (3, 2, 2, 2)
    body = client.get("/api/v1/apps?page=3&page_size=2").get_json()
    assert body["items"] == []
    assert body["total"] == 3


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("category=nope", "#/category/0"),
        ("audience=robots", "#/audience/0"),
        ("data=NoSuchType", "#/data/0"),
        ("price_model=gratis", "#/price_model/0"),
        ("sort=random", "#/sort"),
        ("page=0", "#/page"),
        ("page=abc", "#/page"),
        ("page_size=0", "#/page_size"),
        ("page_size=10000", "#/page_size"),
        ("q=" + "x" * 201, "#/q"),
        ("vendor=no-such-vendor", "#/vendor"),
    ],
)
def test_bad_parameters_are_a_422_naming_them(client, catalog, query, pointer) -> None:
    response = client.get(f"/api/v1/apps?{query}")
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == 422
    assert pointer in [e["pointer"] for e in body["errors"]]


def test_one_app(client, catalog) -> None:
    release = catalog["news2"]
    application = release.application
    application.logo_sha256 = "a" * 64
    application.logo_content_type = "image/png"
    application.screenshots.append(
        Screenshot(
            position=0,
            sha256="b" * 64,
            content_type="image/png",
            width=800,
            height=600,
            caption="The NEWS2 score",
        )
    )
    release.data_use_statement = "Reads vital signs. Writes nothing."
    met = CriterionFactory(code="WCAG", title_nb="Universell utforming", position=1)
    not_applicable = CriterionFactory(code="MDR", title_nb="Medisinsk utstyr", position=2)
    failed = CriterionFactory(code="PEN", title_nb="Penetrasjonstest", position=3)
    for criterion, outcome in [
        (met, Outcome.PASSED),
        (not_applicable, Outcome.NOT_APPLICABLE),
        (failed, Outcome.FAILED),
    ]:
        db.session.add(CriterionCheck(release=release, criterion=criterion, outcome=outcome))
    EvidenceFactory(release=release, criterion=met, filename="wcag-report-secret.pdf")
    db.session.flush()

    response = client.get("/api/v1/apps/NEWS2-varsel")
    assert response.status_code == 200
    body = response.get_json()
    assert body["slug"] == "news2-varsel"
    assert body["vendor"]["verified"] is True
    assert body["description_nb"] == "Regner ut skåren fra vitale målinger."
    assert body["price_nok"] == "2.50"
    assert body["usage_unit"] is None
    assert body["logo_url"] == "/media/" + "a" * 64
    assert [(s["caption"], s["url"]) for s in body["screenshots"]] == [
        ("The NEWS2 score", "/media/" + "b" * 64)
    ]
    assert body["data"] == ["Observation", "Patient"]
    assert body["release"]["version"] == "1.0.0"
    assert body["release"]["data_use_statement"] == "Reads vital signs. Writes nothing."
    assert body["release"]["launch_modes"] == ["ehr", "standalone"]
    scopes = {s["scope"]: s["meaning"] for s in body["release"]["scopes"]}
    assert list(scopes) == VITALS.split()
    assert all(scopes.values())
    assert body["certification"] == {
        "passed": [{"code": "WCAG", "title": "Universell utforming"}],
        "not_applicable": [{"code": "MDR", "title": "Medisinsk utstyr"}],
    }
    assert "wcag-report-secret.pdf" not in response.get_data(as_text=True)


@pytest.mark.parametrize("slug", ["tilbakekalt", "utkastappen", "no-such-app"])
def test_an_unlisted_app_is_a_404(client, catalog, slug) -> None:
    response = client.get(f"/api/v1/apps/{slug}")
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    assert response.get_json()["status"] == 404
    assert slug in response.get_json()["detail"]


def test_the_catalog_api_is_read_only(client, catalog) -> None:
    assert client.post("/api/v1/apps", json={}).status_code == 405
    assert client.delete("/api/v1/apps/news2-varsel").status_code == 405


def test_the_endpoints_are_in_the_openapi_document(client) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    listing = document["paths"]["/api/v1/apps"]["get"]
    parameters = {p["name"] for p in listing["parameters"]}
    assert parameters == {
        "q",
        "category",
        "audience",
        "data",
        "price_model",
        "vendor",
        "sort",
        "page",
        "page_size",
    }
    assert "422" in listing["responses"]
    item = document["paths"]["/api/v1/apps/{slug}"]["get"]
    assert "404" in item["responses"]
