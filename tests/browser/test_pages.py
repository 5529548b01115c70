"""The pages in a real browser: sign-in, language, accessibility, API tokens.

Each test runs on every database (the live server is parametrized over them)
in a browser context of its own. The interface is in bokmål unless a test
switches it; the strings below are the bokmål translations.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import APIRequestContext, Page, expect

from accounts.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

CLINICIAN_EMAIL = "lege.oslo@torget.example"
CLINICIAN_NAME = "Kari Nordmann"


def sign_in(page: Page, email: str = CLINICIAN_EMAIL, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("E-postadresse").fill(email)
    page.get_by_label("Passord").fill(password)
    page.get_by_role("button", name="Logg inn").click()


def test_sign_in_and_out(page: Page) -> None:
    sign_in(page)

    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(CLINICIAN_NAME)
    expect(page.get_by_text(CLINICIAN_EMAIL)).to_be_visible()

    page.get_by_role("button", name="Logg ut").click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("status")).to_contain_text("Du er logget ut.")
    expect(page.get_by_role("link", name="Logg inn", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Logg ut")).to_have_count(0)
    expect(page.get_by_text(CLINICIAN_NAME)).to_have_count(0)
    # The session ended on the server too: the account page asks to sign in.
    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)account$"))


def test_wrong_password_stays_on_sign_in_with_an_alert(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("E-postadresse").fill(CLINICIAN_EMAIL)
    page.get_by_label("Passord").fill("not-the-password")
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/login")
    ) as posted:
        page.get_by_role("button", name="Logg inn").click()

    assert posted.value.status == 401
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("alert")).to_have_text("E-postadressen eller passordet er feil.")
    # The address is kept, the password is not.
    expect(page.get_by_label("E-postadresse")).to_have_value(CLINICIAN_EMAIL)
    expect(page.get_by_label("Passord")).to_have_value("")
    expect(page.get_by_role("button", name="Logg ut")).to_have_count(0)


def test_language_switch(page: Page) -> None:
    html = page.locator("html")
    page.goto("/")
    expect(html).to_have_attribute("lang", "nb")
    expect(page.get_by_role("heading", name="Kom i gang")).to_be_visible()
    expect(page.get_by_role("button", name="Norsk bokmål")).to_be_disabled()

    page.get_by_role("button", name="English").click()

    expect(html).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Where to start")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="English")).to_be_disabled()
    # The choice holds on the next page too.
    page.goto("/login")
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_label("Email address")).to_be_visible()

    page.get_by_role("button", name="Norsk bokmål").click()

    expect(html).to_have_attribute("lang", "nb")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_label("E-postadresse")).to_be_visible()


# Every field a person fills in; hidden fields and buttons carry no label.
FIELDS = (
    "input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=reset]),"
    " select, textarea"
)
HAS_ACCESSIBLE_LABEL = """el => (el.labels && el.labels.length > 0)
    || !!(el.getAttribute('aria-label') || '').trim()
    || !!(el.getAttribute('aria-labelledby') || '').trim()"""


def assert_accessible(page: Page, path: str) -> None:
    page.goto(path)
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))

    fields = page.locator(FIELDS)
    for index in range(fields.count()):
        field = fields.nth(index)
        if field.is_visible():
            assert field.evaluate(HAS_ACCESSIBLE_LABEL), f"{path}: unlabelled {field}"

    assert page.locator("main").count() == 1, path
    assert page.locator("h1").count() == 1, path
    for nav in page.locator("nav").all():
        assert (nav.get_attribute("aria-label") or "").strip(), f"{path}: nav without a label"
    for image in page.locator("img").all():
        assert image.get_attribute("alt") is not None, f"{path}: image without alt"

    main_id = page.locator("main").get_attribute("id")
    assert main_id, f"{path}: main has no id for the skip link"
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_have_attribute("href", f"#{main_id}")
    expect(focused).to_be_visible()  # off-screen until focused, then shown
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


@pytest.mark.parametrize("path", ["/login", "/"])
def test_public_pages_are_accessible(page: Page, path: str) -> None:
    assert_accessible(page, path)


@pytest.mark.parametrize("path", ["/account", "/account/tokens"])
def test_signed_in_pages_are_accessible(page: Page, path: str) -> None:
    sign_in(page)
    expect(page).to_have_url(re.compile(r"/account$"))
    assert_accessible(page, path)


def test_personal_api_token(page: Page, api: APIRequestContext) -> None:
    sign_in(page)
    page.goto("/account/tokens")
    page.get_by_label("Navn").fill("nettlesertest")
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/account/tokens")
    ) as created:
        page.get_by_role("button", name="Opprett nøkkel").click()
    assert created.value.status == 201

    shown = page.locator("#new-token")
    expect(shown).to_be_visible()
    token = shown.inner_text().strip()
    assert token

    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status == 200, me.text()
    assert me.json()["email"] == CLINICIAN_EMAIL

    page.get_by_role("button", name="Trekk tilbake nettlesertest").click()

    expect(page).to_have_url(re.compile(r"/account/tokens$"))
    expect(page.get_by_role("status")).to_contain_text("nettlesertest")
    expect(page.locator("#new-token")).to_have_count(0)  # shown once only
    expect(page.get_by_role("button", name="Trekk tilbake nettlesertest")).to_have_count(0)

    refused = api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert refused.status == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["status"] == 401
