"""The README's API walk-through, run as written: examples/catalog_api.py against a live server.

The tokens are made as the README says, on /account/tokens in a browser,
signed in as the demo vendor and the demo reviewer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.demo import DEMO_PASSWORD
from tests.browser.test_pages import sign_in

pytestmark = pytest.mark.browser

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalog_api.py"


def _token_of(page: Page, email: str) -> str:
    sign_in(page, email, DEMO_PASSWORD)
    page.goto("/account/tokens")
    page.get_by_label("Navn").fill("api-eksempel")
    page.get_by_role("button", name="Opprett nøkkel").click()
    shown = page.locator("#new-token")
    expect(shown).to_be_visible()
    token = shown.inner_text().strip()
    page.get_by_role("button", name="Logg ut").click()
    return token


def test_the_api_example_takes_a_release_from_draft_to_certified(
    page: Page, live_server: str
) -> None:
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
    lines = run.stdout.splitlines()
    assert lines[0] == "missing before submission: nothing"
    assert lines[2].endswith("1.0.0 is certified")
    assert lines[3].startswith("production client ")
    assert ": secret torget_cs_" in lines[3]
