"""A municipal admin's enablements end to end in Chromium, on the demo data.

Oslo's admin finds NEWS2 Varsel waiting on release 1.1.0, which asks for one
more scope (launch/patient), approves it and moves; disables Tjenesteoversikt
with the data processing agreement's exit step; and enables it again with a
subset of its scopes after a first try without accepting the terms. Each
step checks what the admin sees, and the JSON API (with the page's session)
confirms what was stored. That the launch policy follows each change is
tested in tests/marketplace/test_admin_views.py and test_enablement_api.py:
the browser cannot call the live server's services.

Oslo ends with both apps enabled, as the demo data has them, though on other
releases and scopes: the pages of other tests see the same apps.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from catalog import demo as catalog_demo
from marketplace import terms
from tests.browser.steps import ending_in, sign_in
from tests.browser.test_pages import assert_accessible


def _demo_scopes(slug: str, version: str) -> list[str]:
    """The scopes the demo release registered (catalog/demo.py)."""
    (app,) = [a for a in catalog_demo.APPS if a.slug == slug]
    (release,) = [r for r in app.releases if r.version == version]
    return release.scopes.split()


pytestmark = pytest.mark.browser

ADMIN = "admin.oslo@torget.example"


def _row(page: Page, app: str) -> Locator:
    return page.locator("table.enablements tbody tr").filter(
        has=page.get_by_role("rowheader", name=app)
    )


def _stored(page: Page, app: str) -> dict:
    """The enablement as the JSON API has it, asked with the page's own session."""
    answer = page.request.get(f"/api/v1/tenants/oslo/enablements/{app}")
    assert answer.status == 200, answer.text()
    return answer.json()


def test_an_admin_approves_a_wider_release_disables_and_enables_with_a_subset(
    page: Page,
) -> None:
    sign_in(page, ADMIN)

    # 1. The municipality's page leads to its apps; NEWS2 Varsel waits for re-consent.
    page.goto("/m/oslo/")
    page.get_by_role("link", name="Apps in Oslo kommune").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Apps in Oslo kommune")
    news2 = _row(page, "NEWS2 Varsel")
    expect(news2).to_contain_text("1.0.0")
    expect(news2).to_contain_text("Superseded")
    expect(news2).to_contain_text("New release available: 1.1.0")
    expect(news2).to_contain_text("It asks for 1 more scope: approve it first.")
    expect(_row(page, "Tjenesteoversikt")).to_contain_text("In use")

    # 2. The diff, and the new scope left for the admin to approve.
    news2.get_by_role("link", name="NEWS2 Varsel").click()
    reconsent = page.locator("#reconsent")
    expect(reconsent.get_by_role("heading", level=2)).to_have_text("New release available: 1.1.0")
    expect(reconsent.locator("li.scope-added")).to_contain_text("launch/patient")
    expect(reconsent).to_contain_text("Nothing widens until you approve it")
    new_scope = reconsent.get_by_role("checkbox", name=ending_in("launch/patient"))
    expect(new_scope).not_to_be_checked()
    expect(reconsent.get_by_role("checkbox", name=re.compile(r"Observation\.rs"))).to_be_checked()
    expect(page.get_by_role("button", name="Move to 1.1.0", exact=True)).to_have_count(0)
    new_scope.check()
    reconsent.get_by_role("button", name="Approve and move to 1.1.0").click()

    expect(page.get_by_role("status")).to_contain_text("NEWS2 Varsel now runs release 1.1.0.")
    expect(page.locator("#reconsent")).to_have_count(0)
    expect(page.locator(".approved-scopes")).to_contain_text("launch/patient")
    expect(page.locator("ol.history")).to_contain_text("Moved to a new release")
    stored = _stored(page, "news2-varsel")
    assert stored["release"] == {"version": "1.1.0", "state": "certified"}
    assert "launch/patient" in stored["scopes"]
    assert stored["newer_release"] is None

    # 3. Disable Tjenesteoversikt: first without confirming, then with the exit step.
    page.goto("/m/oslo/apps")
    _row(page, "Tjenesteoversikt").get_by_role("link", name="Tjenesteoversikt").click()
    disable = page.locator("#disable")
    disable.get_by_label("The vendor deleted the municipality's data").check()
    disable.get_by_label("Who at the vendor confirmed it").fill("Kundeservice, Fjordkode AS")
    disable.get_by_role("button", name="Disable Tjenesteoversikt").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Tick the box to confirm that the app stops at once."
    )
    assert _stored(page, "tjenesteoversikt")["state"] == "active"

    disable = page.locator("#disable")
    disable.get_by_label("Who at the vendor confirmed it").fill("Kundeservice, Fjordkode AS")
    disable.get_by_label("The vendor deleted the municipality's data").check()
    disable.get_by_label(
        "I understand that the app stops at once for everyone in the municipality."
    ).check()
    disable.get_by_role("button", name="Disable Tjenesteoversikt").click()

    expect(page.get_by_role("status")).to_contain_text("Tjenesteoversikt is disabled")
    callout = page.locator("#disabled")
    expect(callout).to_contain_text("nobody can launch it")
    expect(callout).to_contain_text("The vendor deleted the municipality's data")
    expect(callout).to_contain_text("confirmed by Kundeservice, Fjordkode AS")
    expect(page.locator("#disable")).to_have_count(0)
    assert _stored(page, "tjenesteoversikt")["state"] == "disabled"
    page.goto("/m/oslo/apps")
    expect(_row(page, "Tjenesteoversikt")).to_contain_text("Disabled")

    # 4. Enable it again with a subset: the terms must be accepted first.
    _row(page, "Tjenesteoversikt").get_by_role("link", name="Tjenesteoversikt").click()
    page.get_by_role("link", name="Enable it again").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Enable Tjenesteoversikt for Oslo kommune"
    )
    scopes = page.locator("fieldset#scopes")
    registered = len(_demo_scopes("tjenesteoversikt", "1.0.0"))
    expect(scopes.get_by_role("checkbox")).to_have_count(registered)
    for index in range(registered):  # least privilege: nothing is approved in advance
        expect(scopes.get_by_role("checkbox").nth(index)).not_to_be_checked()
    expect(page.get_by_label("Health personnel (clinicians)")).to_be_checked()
    expect(page.locator("dd.price")).to_contain_text("per year")
    page.get_by_text(f"Read the full text, version {terms.VERSION}").click()
    expect(page.locator("details.terms-text pre")).to_contain_text("databehandleravtale")
    for scope in ("launch", "openid", "patient/EpisodeOfCare.rs"):
        scopes.get_by_role("checkbox", name=ending_in(scope)).check()
    page.get_by_role("button", name="Enable Tjenesteoversikt").click()
    expect(page.get_by_role("alert")).to_contain_text(
        f"Read and accept the terms (version {terms.VERSION}) first."
    )
    # What was ticked stays ticked.
    expect(page.get_by_role("checkbox", name=ending_in("patient/EpisodeOfCare.rs"))).to_be_checked()
    page.get_by_label(re.compile("I have read and accept the terms")).check()
    page.get_by_role("button", name="Enable Tjenesteoversikt").click()

    expect(page.get_by_role("status")).to_contain_text(
        "Tjenesteoversikt is enabled for Oslo kommune on release 1.0.0."
    )
    expect(page.locator(".approved-scopes li")).to_have_count(3)
    expect(page.locator("ol.history > li")).to_have_count(3)
    stored = _stored(page, "tjenesteoversikt")
    assert (stored["state"], stored["scopes"], stored["roles"]) == (
        "active",
        ["launch", "openid", "patient/EpisodeOfCare.rs"],
        ["clinician"],
    )

    # 5. The list: both apps in use, nothing waiting.
    page.goto("/m/oslo/apps")
    expect(_row(page, "Tjenesteoversikt")).to_contain_text("In use")
    expect(_row(page, "Tjenesteoversikt").locator("td.number")).to_have_text("3")
    expect(page.get_by_text("New release available")).to_have_count(0)


@pytest.mark.parametrize(
    "path",
    ["/m/oslo/apps", "/m/oslo/apps/news2-varsel", "/m/oslo/apps/kommunestatistikk/enable"],
)
def test_the_admin_pages_are_accessible(page: Page, path: str) -> None:
    sign_in(page, ADMIN)
    assert_accessible(page, path)


def test_an_admin_of_bergen_is_refused_on_oslo(page: Page) -> None:
    sign_in(page, "admin.bergen@torget.example")
    answer = page.goto("/m/oslo/apps")
    assert answer is not None
    assert answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
