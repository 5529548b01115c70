"""The catalog pages: `/` (search, facets, sorting, pages) and `/apps/<slug>`."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask, g, request_finished
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
from tests.conftest import csrf_token
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


def _english(client: FlaskClient) -> None:
    """Read the pages in English, the source language of the messages."""
    response = client.post(
        "/language", data={"lang": "en", "next": "/", "csrf_token": csrf_token(client, "/login")}
    )
    assert response.status_code == 303


def _text(response: object) -> str:
    return response.get_data(as_text=True)  # type: ignore[attr-defined]


def _result_names(page: str) -> list[str]:
    """The app names in the result list, in order."""
    results = page.split('class="app-list"', 1)
    if len(results) == 1:
        return []
    return re.findall(r'<h3><a href="/apps/[^"]+">([^<]+)</a></h3>', results[1])


@pytest.fixture
def catalog(client: FlaskClient) -> dict[str, object]:
    nordlys = VendorFactory(organisation__slug="nordlys", organisation__name="Nordlys Helse AS")
    nordlys.verified_at = utcnow()
    fjord = VendorFactory(organisation__slug="fjordkode", organisation__name="Fjordkode AS")
    news2 = listed(
        "NEWS2 Varsel",
        slug="news2-varsel",
        vendor=nordlys,
        summary_en="Warns early of a deteriorating patient.",
        summary_nb="Varsler tidlig ved forverring.",
        description_en="Scores vital signs and shows the clinical response.",
        description_nb="Regner ut skåren fra vitale målinger.",
        price_model=PriceModel.PER_INHABITANT,
        price_ore=250,
        scopes=VITALS,
    )
    oversikt = listed(
        "Tjenesteoversikt",
        slug="tjenesteoversikt",
        vendor=fjord,
        category=Category.CARE_COORDINATION,
        summary_en="One view of the municipal services.",
        summary_nb="Én oversikt over kommunale tjenester.",
        price_model=PriceModel.FIXED,
        price_ore=4_500_000,
        scopes="launch openid patient/EpisodeOfCare.rs patient/CarePlan.rs",
    )
    stats = listed(
        "Kommunestatistikk",
        slug="kommunestatistikk",
        vendor=fjord,
        category=Category.ANALYTICS,
        audience=Audience.BACKEND,
        scopes="system/Encounter.rs system/Observation.rs",
    )
    suspended = ApplicationFactory(name="Legemiddelliste", slug="legemiddelliste", vendor=fjord)
    ReleaseFactory(application=suspended, version="1.0.0", state=S.SUSPENDED)
    draft = ApplicationFactory(name="Utkastappen", slug="utkastappen", vendor=nordlys)
    ReleaseFactory(application=draft, version="0.1.0", state=S.DRAFT)
    superseded = ApplicationFactory(name="Gammelappen", slug="gammelappen", vendor=nordlys)
    ReleaseFactory(application=superseded, version="1.0.0", state=S.SUPERSEDED)
    db.session.flush()
    return {"news2": news2, "oversikt": oversikt, "stats": stats}


# --- the front page ----------------------------------------------------------------


def test_the_front_page_welcomes_and_lists_certified_apps_only(client, catalog) -> None:
    _english(client)
    response = client.get("/")
    assert response.status_code == 200
    page = _text(response)
    assert "Torget: apps for the shared municipal health record" in page
    assert "Where to start" in page
    assert "3 certified apps" in page
    assert _result_names(page) == ["Kommunestatistikk", "NEWS2 Varsel", "Tjenesteoversikt"]
    for hidden in ("Legemiddelliste", "Utkastappen", "Gammelappen"):
        assert hidden not in page
    assert "Warns early of a deteriorating patient." in page
    assert "Nordlys Helse AS" in page
    assert page.count("Verified vendor") == 1
    assert "2.50 kr per inhabitant per year" in page
    assert 'href="/apps/news2-varsel"' in page


def test_the_front_page_is_in_bokmal_by_default(client, catalog) -> None:
    page = _text(client.get("/"))
    assert '<html lang="nb">' in page
    assert "Varsler tidlig ved forverring." in page
    assert "Warns early" not in page


def test_the_brand_link_and_error_pages_lead_to_the_catalog(client, catalog) -> None:
    _english(client)
    page = _text(client.get("/no-such-page"))
    assert '<a class="brand" href="/">Torget</a>' in page
    assert '<a href="/">Go to the front page</a>' in page


def test_search_words_are_a_get_parameter(client, catalog) -> None:
    _english(client)
    page = _text(client.get("/?q=forverring"))
    assert _result_names(page) == ["NEWS2 Varsel"]
    assert "1 certified app<" in page
    assert 'value="forverring"' in page  # the words stay in the box
    assert _result_names(_text(client.get("/?q=fjordkode"))) == [
        "Kommunestatistikk",
        "Tjenesteoversikt",
    ]
    page = _text(client.get("/?q=nothinglikethis"))
    assert "No certified app matches the search." in page
    assert _result_names(page) == []


def test_facets_show_counts_and_filter(client, catalog) -> None:
    _english(client)
    page = _text(client.get("/"))
    assert re.search(
        r'name="category" value="care_coordination">\s*<label[^>]*>'
        r'Care coordination <span class="count">\(1\)</span>',
        page,
    )
    assert re.search(
        r'name="vendor" value="fjordkode">\s*<label[^>]*>'
        r'Fjordkode AS <span class="count">\(2\)</span>',
        page,
    )
    assert re.search(
        r'name="data" value="Observation">\s*<label[^>]*>'
        r'Observations <span class="count">\(2\)</span>',
        page,
    )
    assert re.search(
        r'name="audience" value="backend">\s*<label[^>]*>'
        r'Backend service \(no user\) <span class="count">\(1\)</span>',
        page,
    )
    assert re.search(r'name="price_model" value="fixed">\s*<label[^>]*>'
                     r'Fixed yearly price per municipality <span class="count">\(1\)</span>',
                     page)  # fmt: skip

    page = _text(client.get("/?vendor=fjordkode&data=Observation"))
    assert _result_names(page) == ["Kommunestatistikk"]
    assert 'name="vendor" value="fjordkode" checked>' in page
    assert 'name="data" value="Observation" checked>' in page
    page = _text(client.get("/?category=analytics&category=care_coordination"))
    assert _result_names(page) == ["Kommunestatistikk", "Tjenesteoversikt"]
    page = _text(client.get("/?audience=backend&price_model=per_inhabitant"))
    assert _result_names(page) == []


def test_sorting(client, catalog) -> None:
    now = utcnow()
    for key, minutes in [("news2", 3), ("oversikt", 1), ("stats", 2)]:
        catalog[key].certified_at = now - dt.timedelta(minutes=minutes)
    db.session.flush()
    page = _text(client.get("/?sort=newest"))
    assert _result_names(page) == ["Tjenesteoversikt", "Kommunestatistikk", "NEWS2 Varsel"]
    assert '<option value="newest" selected>' in page
    page = _text(client.get("/?sort=name"))
    assert _result_names(page) == ["Kommunestatistikk", "NEWS2 Varsel", "Tjenesteoversikt"]
    # The form's first option, "Best match", sends an empty sort: the default order.
    response = client.get("/?q=&sort=")
    assert response.status_code == 200
    assert _result_names(_text(response)) == [
        "Kommunestatistikk",
        "NEWS2 Varsel",
        "Tjenesteoversikt",
    ]
    assert client.get("/api/v1/apps?sort=").status_code == 200


def test_pages_link_to_each_other_keeping_the_search(client, catalog) -> None:
    _english(client)
    page = _text(client.get("/?vendor=fjordkode&page_size=1"))
    assert _result_names(page) == ["Kommunestatistikk"]
    assert "Page 1 of 2" in page
    assert 'rel="next" href="/?vendor=fjordkode&amp;page=2&amp;page_size=1"' in page
    assert 'rel="prev"' not in page
    assert '<input type="hidden" name="page_size" value="1">' in page
    page = _text(client.get("/?vendor=fjordkode&page_size=1&page=2"))
    assert _result_names(page) == ["Tjenesteoversikt"]
    assert 'rel="prev" href="/?vendor=fjordkode&amp;page_size=1"' in page
    assert 'rel="next"' not in page
    page = _text(client.get("/?vendor=fjordkode&page_size=1&page=9"))
    assert "There is no page 9: the results end on page 2." in page
    assert _result_names(page) == []


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("category=nope", "category: Choose one of: clinical_decision_support, documentation"),
        ("category=medication&audience=robots", "audience: Choose one of: clinician, patient"),
        ("data=NoSuchType", "data: Not a FHIR R4 resource type (or * for all kinds of data)"),
        ("price_model=gratis", "price_model: Choose one of: fixed, per_inhabitant"),
        ("sort=random", "sort: Choose one of: relevance, name, newest."),
        ("page=0", "page: Pages are numbered 1 to 100000."),
        ("page=-1", "page: Pages are numbered 1 to 100000."),
        ("page=abc", "page: Give a whole number."),
        ("page=1.5", "page: Give a whole number."),
        ("page=99999999999999999999999", "page: Pages are numbered 1 to 100000."),
        ("page_size=0", "page_size: From 1 to 100 apps per page."),
        ("page_size=10000", "page_size: From 1 to 100 apps per page."),
        ("q=" + "x" * 201, "q: At most 200 characters."),
        ("q=a%00b", "q: Remove the control characters."),
        ("category=" + "&category=".join(["medication"] * 21), "category: At most 20 values."),
        ("vendor=no-such-vendor", "No vendor is called no-such-vendor."),
    ],
)
def test_bad_parameters_are_a_clear_422(client, catalog, query, says) -> None:
    _english(client)
    response = client.get(f"/?{query}")
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert says in _text(response)


def test_unknown_parameters_are_ignored(client, catalog) -> None:
    response = client.get("/?utm_source=newsletter")
    assert response.status_code == 200
    assert len(_result_names(_text(response))) == 3


# --- the app page ------------------------------------------------------------------------


def test_the_app_page_shows_the_listing(client, catalog) -> None:
    _english(client)
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
            caption="The NEWS2 score with the clinical response",
        )
    )
    release.data_use_statement = "Reads vital signs of the patient in context. Writes nothing."
    # Noon UTC: the page shows the date in Oslo, where late evening is the next day.
    release.certified_at = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
    met = CriterionFactory(code="WCAG", title_en="Universal design (WCAG 2.1 AA)")
    unmet = CriterionFactory(code="MDR", title_en="Medical device class")
    db.session.add(CriterionCheck(release=release, criterion=met, outcome=Outcome.PASSED))
    db.session.add(CriterionCheck(release=release, criterion=unmet, outcome=Outcome.NOT_APPLICABLE))
    EvidenceFactory(release=release, criterion=met, filename="wcag-report-secret.pdf")
    db.session.flush()

    response = client.get("/apps/news2-varsel")
    assert response.status_code == 200
    page = _text(response)
    assert "<h1>NEWS2 Varsel</h1>" in page
    assert "Warns early of a deteriorating patient." in page
    assert "Scores vital signs and shows the clinical response." in page
    assert f'src="/media/{"a" * 64}"' in page
    assert f'src="/media/{"b" * 64}" alt="The NEWS2 score with the clinical response"' in page
    assert "Nordlys Helse AS" in page
    assert "Verified vendor" in page
    assert "Version 1.0.0, certified Mar 2, 2026" in page
    # Every scope, with what it lets the app do.
    assert "Read and search vital signs (Observation, category vital-signs) of the patient" in page
    assert "patient/Observation.rs?category=vital-signs" in page
    assert "Know your identity as health personnel" in page
    assert "2.50 kr per inhabitant per year" in page
    assert "Yearly price per inhabitant" in page
    assert "Reads vital signs of the patient in context. Writes nothing." in page
    assert "Universal design (WCAG 2.1 AA)" in page
    assert "Requirements that do not apply to this app" in page
    assert "Medical device class" in page
    # The evidence itself is never shown.
    assert "wcag-report-secret.pdf" not in page
    assert "/evidence" not in page
    # No cost computed yet: the place for it stays empty.
    assert "What it costs your municipality" not in page


def test_an_unverified_vendor_is_shown_as_such(client, catalog) -> None:
    _english(client)
    page = _text(client.get("/apps/tjenesteoversikt"))
    assert "Not verified" in page
    assert "45,000.00 kr per year" in page


def test_the_app_page_is_in_bokmal_by_default(client, catalog) -> None:
    page = _text(client.get("/apps/news2-varsel"))
    assert "Varsler tidlig ved forverring." in page
    assert "Regner ut skåren fra vitale målinger." in page


@pytest.mark.parametrize(
    "slug", ["legemiddelliste", "utkastappen", "gammelappen", "no-such-app", "x" * 300]
)
def test_an_unlisted_app_has_no_page(client, catalog, slug) -> None:
    response = client.get(f"/apps/{slug}")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Legemiddelliste" not in _text(response)


def test_the_app_page_takes_the_slug_in_any_case(client, catalog) -> None:
    assert client.get("/apps/NEWS2-Varsel").status_code == 200


def test_the_catalog_pages_take_only_get(client, catalog) -> None:
    assert client.post("/", data={"csrf_token": csrf_token(client, "/login")}).status_code == 405
    assert client.post("/apps/news2-varsel").status_code == 405


@pytest.mark.parametrize(
    "path", ["/", "/?q=vitals", "/apps/{slug}", "/api/v1/apps", "/api/v1/apps/{slug}"]
)
def test_the_catalog_reads_beside_other_requests_on_sqlite(client, path) -> None:
    """Its transactions begin without SQLite's write lock (torget.db.reads_without_write_lock)."""
    release = listed("Vitals")
    seen: list[bool] = []

    def note(sender: Flask, **extra: object) -> None:
        seen.append(bool(g.get("torget_shares_read")))

    with request_finished.connected_to(note, client.application):
        answer = client.get(path.format(slug=release.application.slug))

    assert answer.status_code == 200
    assert seen == [True]
