"""A municipal admin finds a new app by search and facet, enables a subset, and sees the cost.

The app is made for this test through the API walk-through (examples/catalog_api.py:
a vendor submits, a reviewer certifies), so the test depends on no other
test's changes to the shared demo data. Bergen's admin then searches the
catalog, narrows by category, opens the app, sees what it costs Bergen,
enables it with one of its scopes for clinicians after accepting the terms,
and finds it among Bergen's apps.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_api_example import EXAMPLE, _token_of

pytestmark = pytest.mark.browser

ADMIN = "admin.bergen@torget.example"


def _certified_app(page: Page, live_server: str) -> str:
    env = {
        **os.environ,
        "VENDOR_TOKEN": _token_of(page, "vendor@torget.example"),
        "REVIEWER_TOKEN": _token_of(page, "reviewer@torget.example"),
    }
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), live_server],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    # "api-demo-1a2b3c 1.0.0 submitted"
    return run.stdout.splitlines()[1].split()[0]


def test_an_admin_finds_enables_and_sees_the_cost(page: Page, live_server: str) -> None:
    slug = _certified_app(page, live_server)

    page.goto("/login")
    page.get_by_role("button", name="English").click()
    page.get_by_label("Email address").fill(ADMIN)
    page.get_by_label("Password").fill("torget-demo-2026")
    page.get_by_role("button", name="Sign in").click()

    # 1. Search, then narrow by a facet: the address holds both.
    page.goto("/")
    page.get_by_label("Search words").fill("API-demo")
    page.get_by_role("button", name="Search").click()
    page.get_by_label(re.compile(r"^Documentation")).check()
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"q=API-demo.*category=documentation"))
    # Other tests made API-demo apps too: open this one.
    page.locator(f'a[href="/apps/{slug}"]').first.click()
    expect(page).to_have_url(re.compile(f"/apps/{slug}$"))

    # 2. The app's page: what it costs Bergen, and the way to enable it.
    expect(page.locator("#cost-title")).to_have_text("What it costs Bergen kommune")
    page.get_by_role("link", name="Enable for Bergen kommune").click()

    # 3. One scope of the release's, clinicians, and the terms.
    page.get_by_role("checkbox", name=re.compile(r"patient\/Observation\.rs$")).check()
    page.get_by_label(re.compile("I have read and accept the terms")).check()
    page.get_by_role("button", name="Enable API-demo").click()
    expect(page.get_by_role("status")).to_contain_text("API-demo")

    # 4. Stored as approved: one scope, clinicians; listed among Bergen's apps.
    stored = page.request.get(f"/api/v1/tenants/bergen/enablements/{slug}")
    assert stored.status == 200, stored.text()
    assert stored.json()["scopes"] == ["patient/Observation.rs"]
    assert stored.json()["roles"] == ["clinician"]
    page.goto("/m/bergen/apps")
    expect(page.get_by_role("rowheader", name="API-demo")).to_be_visible()
