"""Steps of the browser flows that several tests take: signing in, a release, its review.

Each step acts on an English page of Torget (the language switcher is part
of signing in) and waits, with Playwright's expectations, for what it did to
show, so the next step starts from a settled page. Used by tests/browser and
by tests/smart/test_whole_loop.py.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from playwright.sync_api import Locator, Page, expect

from accounts.demo import DEMO_PASSWORD

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
EHR_LAUNCH = "From the journal system (EHR launch)"
STANDALONE_LAUNCH = "On its own (standalone launch)"


def in_english(page: Page) -> None:
    """Switch the page to English, unless it is in English already (its button is disabled)."""
    english = page.get_by_role("button", name="English")
    if english.is_enabled():
        english.click()
        expect(english).to_be_disabled()


def sign_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in on the English login page (the language choice outlives signing out)."""
    page.goto("/login")
    in_english(page)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name=re.compile(r"^(Sign out|Logg ut)$")).click()


@dataclass(frozen=True)
class Draft:
    """What a vendor fills in on a draft release's form."""

    launch_url: str
    redirect_uri: str
    scopes: str
    # The labels of the launch modes to tick (EHR_LAUNCH, STANDALONE_LAUNCH).
    launch_modes: tuple[str, ...] = (EHR_LAUNCH,)
    notes: str = "First release."
    data_use: str = "Reads the patient's observations to show a trend. Writes nothing."


def fill_draft(page: Page, draft: Draft) -> None:
    """Fill in the open draft release's form and save it."""
    page.get_by_label("Launch URL").fill(draft.launch_url)
    page.get_by_label("Redirect URIs").fill(draft.redirect_uri)
    page.get_by_label("Scopes").fill(draft.scopes)
    for mode in draft.launch_modes:
        page.get_by_label(mode).check()
    page.get_by_label("Release notes").fill(draft.notes)
    page.get_by_label("Data-use statement").fill(draft.data_use)
    page.get_by_role("button", name="Save the draft").click()


def upload_evidence_for_every_criterion(page: Page) -> int:
    """Upload a PDF for each criterion of the open draft release; how many there were."""
    issued = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=10)).isoformat()
    buttons = page.get_by_role("button", name=re.compile(r"^Upload evidence for "))
    count = buttons.count()
    assert count >= 6  # the seed list: SMART, Normen, DPIA, WCAG, clinical safety, operations...
    for index in range(count):
        section = page.locator("section.criterion").filter(
            has=page.get_by_role("button", name=re.compile(r"^Upload evidence for "))
        )
        form = section.nth(index)
        code = form.get_by_role("button").last.inner_text().removeprefix("Upload evidence for ")
        form.get_by_label("Document (PDF, PNG or JPEG)").set_input_files(
            {"name": f"{code.lower()}.pdf", "mimeType": "application/pdf", "buffer": PDF}
        )
        form.get_by_label("Issue date").fill(issued)
        form.get_by_role("button", name=f"Upload evidence for {code}").click()
        expect(page.get_by_role("link", name=f"{code.lower()}.pdf")).to_be_visible()
    return count


def pass_every_criterion(page: Page) -> None:
    """On the reviewer's release page, record every criterion as passed."""
    # Counted once the review's forms are on the page, not on the page before it.
    expect(page.get_by_role("button", name=re.compile(r"^Save finding")).first).to_be_visible()
    criteria: Locator = page.locator("li.criterion")
    for index in range(criteria.count()):
        item = page.locator("li.criterion").nth(index)
        item.get_by_label("Passed").check()
        item.get_by_label("Comment").fill("Checked against the submitted document.")
        item.get_by_role("button", name=re.compile(r"^Save finding")).click()
        expect(page.locator("li.criterion").nth(index).locator(".finding")).to_contain_text(
            "Passed"
        )


def certify(page: Page, queued_as: str | re.Pattern[str]) -> None:
    """As the reviewer: open the queued release linked as `queued_as`, pass it and certify it."""
    page.goto("/review/")
    page.get_by_role("link", name=queued_as).first.click()
    page.get_by_role("button", name="Start review").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("In review")
    pass_every_criterion(page)
    page.get_by_role("button", name="Certify", exact=True).click()
    expect(page.locator("#history")).to_be_visible()
    expect(page.get_by_role("list").filter(has_text="Certified").first).to_be_visible()


def ending_in(scope: str) -> re.Pattern[str]:
    """A scope checkbox's accessible name ends in its scope code (after what it lets the app do)."""
    # Playwright sends the pattern as /source/: a slash in it must be escaped.
    return re.compile(re.escape(scope).replace("/", r"\/") + "$")
