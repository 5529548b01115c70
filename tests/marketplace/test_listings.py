"""The catalog search service: what is listed, search, facets, sorting, pages, one app."""

from __future__ import annotations

import datetime as dt

import pytest

from catalog.models import (
    Application,
    Audience,
    Category,
    CriterionCheck,
    Outcome,
    PriceModel,
    Release,
    ReleaseState,
    Vendor,
)
from marketplace import listings
from marketplace.listings import CatalogQuery, Sort
from tests.factories.catalog import (
    ApplicationFactory,
    CriterionFactory,
    EvidenceFactory,
    ReleaseFactory,
    VendorFactory,
)
from torget.db import db, utcnow
from torget.errors import Invalid, NotFound

# Messages and labels are compared in English, the source language.
pytestmark = pytest.mark.usefixtures("english")

S = ReleaseState
VITALS = "launch openid fhirUser patient/Patient.r patient/Observation.rs?category=vital-signs"


# --- helpers (the page and API tests use them too) -----------------------------------


def listed(
    name: str = "App",
    *,
    scopes: str = VITALS,
    certified_at: dt.datetime | None = None,
    vendor: Vendor | None = None,
    **listing: object,
) -> Release:
    """An app with a certified release: in the catalog."""
    if vendor is not None:
        listing["vendor"] = vendor
    application = ApplicationFactory(name=name, **listing)
    return ReleaseFactory(
        application=application,
        version="1.0.0",
        state=S.CERTIFIED,
        scopes=scopes,
        certified_at=certified_at or utcnow(),
    )


def slugs(result: listings.SearchResult) -> list[str]:
    return [item.slug for item in result.items]


def counts(result: listings.SearchResult, facet: str) -> dict[str, int]:
    return {v.value: v.count for v in result.facets[facet]}


def names(result: listings.SearchResult) -> list[str]:
    return [item.application.name for item in result.items]


# --- what is listed --------------------------------------------------------------------


def test_an_app_with_a_certified_release_is_listed(db_session) -> None:
    release = listed("NEWS2 Varsel")
    result = listings.search(CatalogQuery())
    assert names(result) == ["NEWS2 Varsel"]
    assert result.total == 1
    assert result.items[0].release.id == release.id


@pytest.mark.parametrize(
    "state",
    [S.DRAFT, S.SUBMITTED, S.IN_REVIEW, S.REJECTED, S.SUSPENDED, S.REVOKED, S.SUPERSEDED],
)
def test_an_app_without_a_certified_release_is_not_listed(db_session, state) -> None:
    application = ApplicationFactory(name="Hidden")
    ReleaseFactory(application=application, version="1.0.0", state=state)
    listed("Shown")
    result = listings.search(CatalogQuery())
    assert names(result) == ["Shown"]
    assert result.total == 1
    with pytest.raises(NotFound):
        listings.get_listing(application.slug)


def test_an_app_in_every_other_state_but_certified_is_not_listed(db_session) -> None:
    application = ApplicationFactory(name="Stopped")
    for version, state in [
        ("0.1.0", S.DRAFT),
        ("0.2.0", S.REJECTED),
        ("1.0.0", S.SUPERSEDED),
        ("1.1.0", S.REVOKED),
        ("1.2.0", S.SUSPENDED),
    ]:
        ReleaseFactory(application=application, version=version, state=state)
    assert listings.search(CatalogQuery()).total == 0


def test_a_newer_suspended_release_leaves_the_certified_one_listed(db_session) -> None:
    certified = listed("Stable", scopes="launch patient/Observation.rs")
    ReleaseFactory(
        application=certified.application,
        version="2.0.0",
        state=S.SUSPENDED,
        scopes="launch patient/Condition.rs",
    )
    result = listings.search(CatalogQuery())
    assert [(i.slug, i.release.version) for i in result.items] == [
        (certified.application.slug, "1.0.0")
    ]
    assert result.items[0].data == ["Observation"]
    assert counts(result, "data") == {"Observation": 1}
    assert listings.get_listing(certified.application.slug).release.id == certified.id


def test_a_superseded_release_beside_the_certified_one_is_not_shown(db_session) -> None:
    newer = listed("Moving on", scopes="launch patient/Condition.rs")
    ReleaseFactory(
        application=newer.application,
        version="0.9.0",
        state=S.SUPERSEDED,
        scopes="launch patient/Observation.rs",
    )
    result = listings.search(CatalogQuery())
    assert [i.release.version for i in result.items] == ["1.0.0"]
    assert counts(result, "data") == {"Condition": 1}


# --- search ----------------------------------------------------------------------------


@pytest.fixture
def three_apps(db_session) -> dict[str, Application]:
    fjord = VendorFactory(organisation__name="Fjordkode Helseteknologi AS")
    return {
        "news2": listed(
            "NEWS2 Varsel",
            summary_en="Warns early of a deteriorating patient.",
            summary_nb="Varsler tidlig ved forverring.",
            description_en="Scores vital signs per the Royal College of Physicians.",
            description_nb="Regner ut skåren fra vitale målinger og pulsmåling.",
        ).application,
        "oversikt": listed(
            "Tjenesteoversikt",
            vendor=fjord,
            summary_en="One view of the municipal services.",
            summary_nb="Én oversikt over kommunale tjenester.",
            description_en="Home care, nursing homes and physiotherapy in one place.",
            description_nb="Hjemmetjenester, sykehjem og fysioterapi på ett sted.",
        ).application,
        "meds": listed(
            "Legemiddelliste",
            summary_en="The patient's medications.",
            summary_nb="Pasientens legemidler.",
            description_en="Prescriptions and use, for the physiotherapy team too.",
            description_nb="Øyeblikksbilde av forskrivninger og bruk.",
        ).application,
    }


def _search(q: str, **query: object) -> list[str]:
    return slugs(listings.search(CatalogQuery(q=q, **query)))


def test_search_finds_a_word_of_the_name(three_apps) -> None:
    assert _search("varsel") == [three_apps["news2"].slug]
    assert _search("NEWS2") == [three_apps["news2"].slug]


def test_search_finds_a_word_of_the_vendor_name(three_apps) -> None:
    assert _search("fjordkode") == [three_apps["oversikt"].slug]
    assert _search("Helseteknologi") == [three_apps["oversikt"].slug]


def test_search_finds_a_word_of_the_english_texts(three_apps) -> None:
    assert _search("deteriorating") == [three_apps["news2"].slug]
    assert _search("nursing") == [three_apps["oversikt"].slug]


def test_search_finds_a_word_of_the_bokmal_texts(three_apps) -> None:
    assert _search("forverring") == [three_apps["news2"].slug]
    assert _search("sykehjem") == [three_apps["oversikt"].slug]


def test_search_ignores_case_also_for_norwegian_letters(three_apps) -> None:
    meds = three_apps["meds"].slug
    assert _search("øyeblikksbilde") == [meds]
    assert _search("ØYEBLIKKSBILDE") == [meds]
    assert _search("skåren") == [three_apps["news2"].slug]
    assert _search("SKÅREN") == [three_apps["news2"].slug]


def test_every_word_must_match(three_apps) -> None:
    assert sorted(_search("physiotherapy")) == sorted(
        [three_apps["oversikt"].slug, three_apps["meds"].slug]
    )
    assert _search("physiotherapy prescriptions") == [three_apps["meds"].slug]
    assert _search("physiotherapy nothinglikethis") == []


def test_words_joined_by_hyphens_or_underscores_are_found(three_apps) -> None:
    release = listed("Reseptappen", description_nb="Støtter e-resept og pasient_forløp.")
    assert _search("e-resept") == [release.application.slug]
    assert _search("E-RESEPT pasient_forløp") == [release.application.slug]


def test_search_syntax_on_each_database(three_apps) -> None:
    """PostgreSQL reads or, -word and "phrases" as search engines do; SQLite needs every word."""
    news2, oversikt, meds = (three_apps[k].slug for k in ("news2", "oversikt", "meds"))
    if db.session.get_bind().dialect.name == "postgresql":
        assert sorted(_search("deteriorating or sykehjem")) == sorted([news2, oversikt])
        assert _search("physiotherapy -prescriptions") == [oversikt]
        assert _search('"nursing homes"') == [oversikt]
        assert _search('"homes nursing"') == []
        assert meds not in _search("-physiotherapy")
    else:
        # The portable fallback: quotes and signs are punctuation, every word must match.
        assert _search("deteriorating sykehjem") == []
        assert _search('"nursing homes"') == [oversikt]
        assert _search('"homes nursing"') == [oversikt]
        assert _search("physiotherapy prescriptions") == [meds]


def test_search_reaches_only_listed_apps(three_apps) -> None:
    draft = ApplicationFactory(name="Varsel Utkast")
    ReleaseFactory(application=draft, version="1.0.0", state=S.DRAFT)
    assert _search("varsel") == [three_apps["news2"].slug]


def test_a_query_without_words_lists_everything(three_apps) -> None:
    assert listings.search(CatalogQuery(q="  ?! ")).total == 3


def test_relevance_puts_a_match_in_the_name_first(db_session) -> None:
    described = listed("Alfa", description_en="Works with the Sirius pump.")
    named = listed("Sirius")
    result = listings.search(CatalogQuery(q="sirius"))
    assert result.sort == Sort.RELEVANCE
    assert slugs(result) == [named.application.slug, described.application.slug]
    # Asked for by name, the order is the alphabet's.
    by_name = listings.search(CatalogQuery(q="sirius", sort=Sort.NAME))
    assert slugs(by_name) == [described.application.slug, named.application.slug]


# --- facets ------------------------------------------------------------------------------


@pytest.fixture
def faceted(db_session) -> dict[str, Application]:
    nordlys = VendorFactory(organisation__slug="nordlys", organisation__name="Nordlys AS")
    fjord = VendorFactory(organisation__slug="fjord", organisation__name="Fjord AS")
    apps = {
        "a": listed(
            "A",
            vendor=nordlys,
            category=Category.MEDICATION,
            audience=Audience.CLINICIAN,
            price_model=PriceModel.FREE,
            scopes="launch patient/MedicationRequest.rs patient/Patient.r",
        ),
        "b": listed(
            "B",
            vendor=nordlys,
            category=Category.MEDICATION,
            audience=Audience.PATIENT,
            price_model=PriceModel.FIXED,
            price_ore=100_000,
            scopes="launch/patient patient/MedicationRequest.rs",
        ),
        "c": listed(
            "C",
            vendor=fjord,
            category=Category.ANALYTICS,
            audience=Audience.BACKEND,
            price_model=PriceModel.FIXED,
            price_ore=500_000,
            scopes="system/Observation.rs system/Encounter.rs",
        ),
        "d": listed(
            "D",
            vendor=fjord,
            category=Category.CARE_COORDINATION,
            audience=Audience.CLINICIAN,
            price_model=PriceModel.FREE,
            scopes="launch user/*.rs",
        ),
    }
    return {key: release.application for key, release in apps.items()}


def test_each_facet_counts_the_apps(faceted) -> None:
    result = listings.search(CatalogQuery())
    assert counts(result, "category") == {
        "medication": 2,
        "care_coordination": 1,
        "analytics": 1,
    }
    assert counts(result, "audience") == {"clinician": 2, "patient": 1, "backend": 1}
    assert counts(result, "price_model") == {"fixed": 2, "free": 2}
    assert counts(result, "vendor") == {"nordlys": 2, "fjord": 2}
    assert counts(result, "data") == {
        "*": 1,
        "MedicationRequest": 2,
        "Encounter": 1,
        "Observation": 1,
        "Patient": 1,
    }
    assert not any(v.selected for values in result.facets.values() for v in values)


def test_facet_values_carry_labels_in_the_readers_language(faceted) -> None:
    result = listings.search(CatalogQuery())
    labels = {f: {v.value: v.label for v in result.facets[f]} for f in listings.FACETS}
    assert labels["category"]["medication"] == "Medication"
    assert labels["audience"]["backend"] == "Backend service (no user)"
    assert labels["price_model"]["free"] == "Free or open source"
    assert labels["vendor"] == {"nordlys": "Nordlys AS", "fjord": "Fjord AS"}
    assert labels["data"]["MedicationRequest"] == "Medication prescriptions"
    assert labels["data"]["*"] == "All kinds of data"
    assert labels["data"]["Encounter"] == "Encounters"
    # Categories in their published order, as on every form; vendors by count, then name.
    assert [v.value for v in result.facets["category"]] == [
        "medication",
        "care_coordination",
        "analytics",
    ]
    assert [v.value for v in result.facets["vendor"]] == ["fjord", "nordlys"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (CatalogQuery(category=frozenset({Category.MEDICATION})), {"a", "b"}),
        (CatalogQuery(audience=frozenset({Audience.CLINICIAN})), {"a", "d"}),
        (CatalogQuery(price_model=frozenset({PriceModel.FIXED})), {"b", "c"}),
        (CatalogQuery(vendor=frozenset({"fjord"})), {"c", "d"}),
        (CatalogQuery(data=frozenset({"MedicationRequest"})), {"a", "b"}),
        (CatalogQuery(data=frozenset({"Observation"})), {"c"}),
        (CatalogQuery(data=frozenset({"*"})), {"d"}),
        # Within a facet: any of the values.
        (
            CatalogQuery(category=frozenset({Category.MEDICATION, Category.ANALYTICS})),
            {"a", "b", "c"},
        ),
        # Across facets: all of them.
        (
            CatalogQuery(
                category=frozenset({Category.MEDICATION}),
                price_model=frozenset({PriceModel.FIXED}),
            ),
            {"b"},
        ),
        (CatalogQuery(vendor=frozenset({"nordlys"}), data=frozenset({"Encounter"})), set()),
    ],
)
def test_each_facet_filters(faceted, query, expected) -> None:
    result = listings.search(query)
    assert set(slugs(result)) == {faceted[key].slug for key in expected}
    assert result.total == len(expected)


def test_a_facet_counts_with_the_other_facets_choices_applied_but_not_its_own(faceted) -> None:
    result = listings.search(
        CatalogQuery(category=frozenset({Category.MEDICATION}), vendor=frozenset({"nordlys"}))
    )
    assert set(slugs(result)) == {faceted["a"].slug, faceted["b"].slug}
    # Categories: nordlys's apps in every category, so a second category can be ticked.
    assert counts(result, "category") == {"medication": 2}
    # Vendors: medication apps of every vendor.
    assert counts(result, "vendor") == {"nordlys": 2}
    # The other facets count the two apps shown.
    assert counts(result, "audience") == {"clinician": 1, "patient": 1}
    assert counts(result, "price_model") == {"free": 1, "fixed": 1}
    selected = {(f, v.value) for f, values in result.facets.items() for v in values if v.selected}
    assert selected == {("category", "medication"), ("vendor", "nordlys")}

    analytics = listings.search(CatalogQuery(category=frozenset({Category.ANALYTICS})))
    assert slugs(analytics) == [faceted["c"].slug]
    assert counts(analytics, "category") == {
        "medication": 2,
        "care_coordination": 1,
        "analytics": 1,
    }
    assert counts(analytics, "vendor") == {"fjord": 1}


def test_a_chosen_value_without_apps_is_still_shown_so_it_can_be_unticked(faceted) -> None:
    result = listings.search(
        CatalogQuery(
            category=frozenset({Category.WELFARE_TECHNOLOGY}), data=frozenset({"Condition"})
        )
    )
    assert result.total == 0
    assert result.items == []
    welfare = next(v for v in result.facets["category"] if v.value == "welfare_technology")
    assert (welfare.count, welfare.selected, welfare.label) == (0, True, "Welfare technology")
    condition = next(v for v in result.facets["data"] if v.value == "Condition")
    assert (condition.count, condition.selected) == (0, True)


def test_facets_count_only_what_the_words_find(faceted) -> None:
    result = listings.search(CatalogQuery(q="Fjord"))
    assert set(slugs(result)) == {faceted["c"].slug, faceted["d"].slug}
    assert counts(result, "vendor") == {"fjord": 2}
    assert counts(result, "category") == {"analytics": 1, "care_coordination": 1}


def test_an_unknown_vendor_is_refused(faceted) -> None:
    with pytest.raises(Invalid) as caught:
        listings.search(CatalogQuery(vendor=frozenset({"nordlys", "no-such-vendor"})))
    assert caught.value.status == 422
    assert caught.value.fields == {"vendor": ["No vendor is called no-such-vendor."]}


def test_a_vendor_without_listed_apps_gives_no_results(faceted) -> None:
    idle = VendorFactory(organisation__slug="idle", organisation__name="Idle AS")
    result = listings.search(CatalogQuery(vendor=frozenset({idle.slug})))
    assert result.total == 0
    assert [(v.value, v.label, v.count) for v in result.facets["vendor"]][-1] == (
        "idle",
        "Idle AS",
        0,
    )


def test_a_scope_that_no_longer_parses_reaches_nothing_it_cannot_name() -> None:
    assert listings.data_used("launch patient/Observation.rs patient/NoSuchType.rs") == {
        "Observation"
    }
    assert listings.data_used("") == frozenset()


# --- sorting and pages -------------------------------------------------------------------


def test_names_sort_as_norwegians_sort(db_session) -> None:
    for name in ["Ås-appen", "Zebra", "Ærlig", "alfa", "Øye", "Beta"]:
        listed(name)
    result = listings.search(CatalogQuery())
    assert result.sort == Sort.NAME
    assert names(result) == ["alfa", "Beta", "Zebra", "Ærlig", "Øye", "Ås-appen"]


def test_newest_certified_first(db_session) -> None:
    now = utcnow()
    for name, days_ago in [("Old", 30), ("New", 1), ("Middle", 10)]:
        listed(name, certified_at=now - dt.timedelta(days=days_ago))
    result = listings.search(CatalogQuery(sort=Sort.NEWEST))
    assert names(result) == ["New", "Middle", "Old"]


def test_relevance_without_words_is_by_name(db_session) -> None:
    listed("Beta")
    listed("Alfa")
    result = listings.search(CatalogQuery(sort=Sort.RELEVANCE))
    assert result.sort == Sort.NAME
    assert names(result) == ["Alfa", "Beta"]


def test_pages(db_session) -> None:
    for n in range(7):
        listed(f"App {n}")
    first = listings.search(CatalogQuery(page_size=3))
    assert names(first) == ["App 0", "App 1", "App 2"]
    assert (first.total, first.page, first.total_pages) == (7, 1, 3)
    last = listings.search(CatalogQuery(page=3, page_size=3))
    assert names(last) == ["App 6"]
    beyond = listings.search(CatalogQuery(page=4, page_size=3))
    assert beyond.items == []
    assert beyond.total == 7
    # Facets count every match, not only the page's.
    assert counts(last, "category") == {"clinical_decision_support": 7}


def test_an_empty_catalog_has_one_empty_page(db_session) -> None:
    result = listings.search(CatalogQuery())
    assert (result.total, result.total_pages, result.items) == (0, 1, [])
    assert all(values == [] for values in result.facets.values())


def test_the_query_as_link_parameters() -> None:
    query = CatalogQuery(
        q="vital",
        category=frozenset({Category.MEDICATION, Category.ANALYTICS}),
        vendor=frozenset({"nordlys"}),
        sort=Sort.NEWEST,
        page=2,
    )
    assert query.args() == {
        "q": "vital",
        "category": ["analytics", "medication"],
        "vendor": ["nordlys"],
        "sort": "newest",
        "page": 2,
    }
    assert query.args(page=1, q="") == {
        "category": ["analytics", "medication"],
        "vendor": ["nordlys"],
        "sort": "newest",
    }
    assert CatalogQuery().args() == {}
    assert CatalogQuery(page_size=50).args() == {"page_size": 50}


# --- one app -----------------------------------------------------------------------------


def test_the_listing_of_one_app(db_session) -> None:
    release = listed("NEWS2 Varsel", scopes=VITALS)
    passed = CriterionFactory(code="WCAG", title_nb="Universell utforming", position=2)
    first = CriterionFactory(code="SMART", title_nb="SMART App Launch", position=1)
    not_applicable = CriterionFactory(code="MDR", title_nb="Medisinsk utstyr")
    failed = CriterionFactory(code="PEN", title_nb="Penetrasjonstest")
    for criterion, outcome in [
        (passed, Outcome.PASSED),
        (first, Outcome.PASSED),
        (not_applicable, Outcome.NOT_APPLICABLE),
        (failed, Outcome.FAILED),
    ]:
        db.session.add(CriterionCheck(release=release, criterion=criterion, outcome=outcome))
    EvidenceFactory(release=release, criterion=passed, filename="wcag-rapport.pdf")
    db.session.flush()
    db.session.expire_all()

    listing = listings.get_listing(release.application.slug.upper())
    assert listing.application.id == release.application.id
    assert listing.release.id == release.id
    assert listing.data == ["Observation", "Patient"]
    certification = listing.certification
    # Outside a request, texts are in bokmål, the default language.
    assert [(c.code, c.title) for c in certification.passed] == [
        ("SMART", "SMART App Launch"),
        ("WCAG", "Universell utforming"),
    ]
    assert [c.code for c in certification.not_applicable] == ["MDR"]


def test_an_app_that_does_not_exist_is_not_found(db_session) -> None:
    with pytest.raises(NotFound) as caught:
        listings.get_listing("no-such-app")
    assert caught.value.detail == "No certified app is called no-such-app."
