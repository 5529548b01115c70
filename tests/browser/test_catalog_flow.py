"""The app registry end to end in Chromium: a vendor signs up and submits, a reviewer certifies.

A visitor with no account registers a vendor, an app and a release with a
client secret, uploads evidence for every criterion and submits; the demo
reviewer works the checklist and certifies; the vendor sees the certified
state and takes the production credentials. The flow runs in English (the
language switcher is part of it); the bokmål pages are checked at the end.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.browser.steps import (
    Draft,
    certify,
    fill_draft,
    in_english,
    sign_in,
    sign_out,
    upload_evidence_for_every_criterion,
)

pytestmark = pytest.mark.browser

VENDOR_PASSWORD = "fjell-og-fjord-2026"


def test_a_vendor_signs_up_submits_and_a_reviewer_certifies(page: Page) -> None:
    suffix = uuid.uuid4().hex[:6]
    email = f"siri.{suffix}@fjellapp.example"
    app_slug = f"fjellvarsel-{suffix}"

    # 1. A visitor registers the vendor with a new account.
    page.goto("/vendor/signup")
    in_english(page)
    page.get_by_label("Your name").fill("Siri Selger")
    page.get_by_label("Your email address").fill(email)
    page.get_by_label("Choose a password").fill(VENDOR_PASSWORD)
    page.get_by_label("Vendor name").fill(f"Fjellapp {suffix} AS")
    # A second organisation number per database run would collide: the live
    # server's database is per run, and this is the one test that signs up.
    page.get_by_label("Organisation number").fill("974 760 673")
    page.get_by_label("Contact email", exact=True).fill("post@fjellapp.example")
    page.get_by_label("Security contact email").fill("security@fjellapp.example")
    page.get_by_label("Website").fill("https://fjellapp.example")
    page.get_by_role("button", name="Register the vendor").click()
    expect(page.get_by_role("status")).to_contain_text("is registered")

    # 2. The app.
    page.get_by_role("link", name="Register a new app").click()
    page.get_by_label("Slug").fill(app_slug)
    page.get_by_label("Name", exact=True).fill("Fjellvarsel")
    page.get_by_label("Summary (bokmål)").fill("Varsler når verdiene endrer seg.")
    page.get_by_label("Summary (English)").fill("Warns when the values change.")
    page.get_by_label("Description (bokmål)").fill("Viser trender i målinger.")
    page.get_by_label("Description (English)").fill("Shows trends in measurements.")
    page.get_by_label("Category").select_option(label="Clinical decision support")
    page.get_by_label("Audience").select_option(label="Health personnel")
    page.get_by_label("Support URL").fill("https://fjellapp.example/support")
    page.get_by_label("Privacy policy URL").fill("https://fjellapp.example/privacy")
    page.get_by_label("Price model").select_option(label="Yearly price per inhabitant")
    page.get_by_label("Price (kroner)").fill("2,50")
    page.get_by_role("button", name="Register the app").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Fjellvarsel")

    # 3. A draft release with a client secret, complete, with evidence.
    page.get_by_role("link", name="New release").first.click()
    page.get_by_label("Version").fill("1.0.0")
    page.get_by_label("Client type").select_option(label="Confidential client with a secret")
    page.get_by_role("button", name="Create the draft").click()
    submit = page.get_by_role("button", name="Submit for certification")
    expect(submit).to_be_disabled()
    fill_draft(
        page,
        Draft(
            launch_url=f"https://{app_slug}.example/launch",
            redirect_uri=f"https://{app_slug}.example/callback",
            scopes="launch openid fhirUser patient/Observation.rs",
        ),
    )
    # Every scope is explained in plain words on the page that shows it.
    explained = page.locator("ul.scopes li").filter(has_text="patient/Observation.rs")
    expect(explained.locator(".scope-meaning")).to_have_text(
        re.compile(r"^Read and search .* of the patient")
    )
    upload_evidence_for_every_criterion(page)
    expect(submit).to_be_enabled()
    submit.click()
    expect(page.locator(".badge").first).to_have_text("Submitted")
    sign_out(page)

    # 4. The reviewer works the checklist and certifies.
    sign_in(page, "reviewer@torget.example")
    certify(page, re.compile("Fjellvarsel"))
    sign_out(page)

    # 5. The vendor sees the certified release and takes its credentials.
    sign_in(page, email, VENDOR_PASSWORD)
    page.goto("/vendor/")
    expect(page.get_by_text("Certified").first).to_be_visible()
    page.get_by_role("link", name="Credentials").first.click()
    expect(page.get_by_text(re.compile(f"{app_slug}-prod-"))).to_be_visible()
    credentials_url = page.url
    page.get_by_role("button", name="Create a secret for the production client").click()
    secret = page.locator("#new-secret")
    expect(secret).to_have_text(re.compile(r"^torget_cs_\S{40,}$"))
    # Shown once: the next visit shows only its first characters.
    value = secret.inner_text()
    page.goto(credentials_url)
    expect(page.locator("#new-secret")).to_have_count(0)
    expect(page.get_by_text(value)).to_have_count(0)

    # 6. The same in bokmål, the default language.
    page.get_by_role("button", name="Norsk bokmål").click()
    page.goto("/vendor/")
    expect(page.get_by_text("Sertifisert").first).to_be_visible()
