"""The whole loop in Chromium against gunicorn, from a vendor's release to a refused app.

A vendor registers a new release of NEWS2 Varsel, the reviewer certifies it,
a municipal admin moves the municipality's enablement to it with a subset of
its scopes, a clinician launches it and the app shows the patient's NEWS2;
then the admin disables the app and the open app's next FHIR request is
refused. Once with an EHR launch from Torget's journal launcher (Oslo), once
with a standalone launch and the patient picker (Bergen). The app is the
pilot in examples/news2, served by this Torget at /examples/news2/.

The live database is shared by every test of the session, so each test works
in a municipality of its own and leaves NEWS2 Varsel disabled there; no other
test launches it. Each test reads the next free version from the vendor's
page, so either runs alone as well as after the other.

With TORGET_SCREENSHOTS naming a directory, the EHR test saves the README
tour's screenshots there (`make screenshots`).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Request, Response, expect

from auth.demo import DemoPatient, patients_for
from gateway import enforcement, synthetic
from tests.browser.steps import (
    EHR_LAUNCH,
    STANDALONE_LAUNCH,
    Draft,
    certify,
    ending_in,
    fill_draft,
    sign_in,
    upload_evidence_for_every_criterion,
)
from tests.smart.live import HOST, LiveTorget

pytestmark = pytest.mark.browser

APP = "news2-varsel"
APP_NAME = "NEWS2 Varsel"
# What examples/news2/config.json asks for: the release registers exactly that.
SCOPES = (
    "launch launch/patient openid fhirUser patient/Patient.r "
    "patient/Observation.rs?category=vital-signs"
)
VENDOR = "vendor@torget.example"
REVIEWER = "reviewer@torget.example"
# Respiration rate, SpO2, supplemental oxygen, systolic pressure, pulse, consciousness,
# temperature: the rows of the app's table.
NEWS2_PARAMETERS = 7
REFUSED = "Appen har ikke lenger tilgang"
# Generous: the app's page makes several requests, on a machine that may be busy.
PAGE_TIMEOUT_MS = 20_000
SCREENSHOTS = os.environ.get("TORGET_SCREENSHOTS", "")


@dataclass(frozen=True)
class Municipality:
    slug: str
    name: str
    admin: str
    clinician: str
    # A demo patient whose vital signs are complete and fresh: the app shows a total.
    patient: DemoPatient


def _deteriorating_patient(slug: str) -> DemoPatient:
    return next(
        p for p in patients_for(slug) if synthetic.trajectory_of(slug, p.id) == "deteriorating"
    )


OSLO = Municipality(
    "oslo",
    "Oslo kommune",
    "admin.oslo@torget.example",
    "lege.oslo@torget.example",
    _deteriorating_patient("oslo"),
)
BERGEN = Municipality(
    "bergen",
    "Bergen kommune",
    "admin.bergen@torget.example",
    "sykepleier.bergen@torget.example",
    _deteriorating_patient("bergen"),
)


class Screenshots:
    """Saves full-page PNGs for the README's tour when given a directory; else does nothing."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def take(self, page: Page, name: str) -> None:
        if self.directory is not None:
            page.screenshot(path=self.directory / f"{name}.png", full_page=True)


@pytest.fixture
def screenshots() -> Screenshots:
    return Screenshots(Path(SCREENSHOTS) if SCREENSHOTS else None)


@pytest.fixture
def open_page(browser: Browser, live_torget: LiveTorget) -> Iterator[Callable[[], Page]]:
    """Opens a page in a browser context of its own (a person of their own), on Torget.

    A request any page makes to a host but 127.0.0.1 fails the test: the app
    and fhirclient come from Torget, nothing from a CDN.
    """
    contexts = []
    offsite: list[str] = []

    def record(request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in {"http", "https", "ws", "wss"} and parts.hostname != HOST:
            offsite.append(f"{request.method} {request.url}")

    def open_one() -> Page:
        context = browser.new_context(locale="en-GB", base_url=live_torget.public_url)
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        context.on("request", record)
        contexts.append(context)
        return context.new_page()

    yield open_one
    for context in contexts:
        context.close()
    if offsite:
        pytest.fail("a page made requests off this machine:\n  " + "\n  ".join(offsite))


# --- the steps -----------------------------------------------------------------------


def _next_version(latest: str) -> str:
    """The next minor version after `latest` (2.0.0-beta.1 -> 2.1.0)."""
    found = re.match(r"(\d+)\.(\d+)\.", latest)
    assert found, latest
    return f"{found[1]}.{int(found[2]) + 1}.0"


def release_and_submit(page: Page, public_url: str, shots: Screenshots) -> str:
    """The demo vendor registers a new release of NEWS2 Varsel and submits it; its version.

    A new release of the existing app keeps the app's production client, whose
    id the served examples/news2/config.json carries: the pilot launches as it
    is, now under the new release's registration.
    """
    sign_in(page, VENDOR)
    page.goto(f"/vendor/apps/{APP}/releases/new")
    latest = page.get_by_text(re.compile(r"^The latest release is ")).inner_text()
    version = _next_version(latest.removeprefix("The latest release is ").split(":")[0])
    page.get_by_label("Version").fill(version)
    page.get_by_label("Client type").select_option(label="Public client (browser app, PKCE)")
    page.get_by_role("button", name="Create the draft").click()
    submit = page.get_by_role("button", name="Submit for certification")
    expect(submit).to_be_disabled()
    draft = Draft(
        launch_url=f"{public_url}/examples/news2/launch.html",
        redirect_uri=f"{public_url}/examples/news2/index.html",
        scopes=SCOPES,
        launch_modes=(EHR_LAUNCH, STANDALONE_LAUNCH),
        notes="Viser trenden for de siste målerundene.",
        data_use="Leser pasientens vitale målinger og navn for å regne ut NEWS2. Lagrer ingenting.",
    )
    fill_draft(page, draft)
    expect(page.get_by_role("status")).to_be_visible()
    upload_evidence_for_every_criterion(page)
    expect(submit).to_be_enabled()
    submit.click()
    expect(page.locator(".badge").first).to_have_text("Submitted")
    shots.take(page, "1-vendor-release-submitted")
    return version


def certify_release(page: Page, version: str, shots: Screenshots) -> None:
    sign_in(page, REVIEWER)
    certify(page, f"{APP_NAME} {version}")
    expect(page.locator(".badge").first).to_have_text("Certified")
    shots.take(page, "2-reviewer-certified")


def open_enablement(page: Page, town: Municipality) -> None:
    page.goto(f"/m/{town.slug}/apps/{APP}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{APP_NAME} in {town.name}")


def approved_scopes(page: Page) -> list[str]:
    return page.locator(".approved-scopes code").all_inner_texts()


def disable(page: Page, town: Municipality) -> None:
    """The admin disables the app with the exit step; then waits out the gateway's trust."""
    open_enablement(page, town)
    form = page.locator("#disable")
    form.get_by_label("The app held no data outside the platform").check()
    form.get_by_label("Who at the vendor confirmed it").fill("Vilde Leverandør, Nordlys Helse AS")
    form.get_by_label(
        "I understand that the app stops at once for everyone in the municipality."
    ).check()
    form.get_by_role("button", name=f"Disable {APP_NAME}").click()
    expect(page.get_by_role("status")).to_contain_text(f"{APP_NAME} is disabled")
    expect(page.locator("#disabled")).to_contain_text("nobody can launch it")
    # Each gateway process trusts a token's live status for this long; after it, the
    # next request checks again and finds the app disabled.
    time.sleep(enforcement.STATUS_TTL_SECONDS + 0.1)


def expect_the_score(app: Page) -> None:
    """The app page shows a NEWS2 total and a score on each of the seven parameter rows."""
    expect(app.locator("#total")).to_have_text(re.compile(r"^Totalt \d+ poeng$"))
    expect(app.locator("#rows tr")).to_have_count(NEWS2_PARAMETERS)
    expect(app.locator("#rows td.score")).to_have_count(NEWS2_PARAMETERS)


def expect_refused_on_reload(app: Page, town: Municipality) -> None:
    """Reloading the open app reads the FHIR API with its token again: 401, and the app says so.

    index.html runs FHIR.oauth2.ready() with the token fhirclient stored in the
    tab's session storage, then asks the FHIR API for the vital signs.
    """
    answers: list[Response] = []
    fhir_base = f"/fhir/{town.slug}/"
    app.on(
        "response",
        lambda r: answers.append(r) if urlsplit(r.url).path.startswith(fhir_base) else None,
    )
    app.reload()
    status = app.locator("#status")
    expect(status).to_contain_text(REFUSED)
    expect(status).to_have_attribute("role", "alert")
    expect(app.locator("#content")).to_be_hidden()
    assert answers, "the reloaded app asked the FHIR API nothing"
    assert 401 in [r.status for r in answers], [(r.url, r.status) for r in answers]


# --- the tests -----------------------------------------------------------------------


def test_a_release_goes_from_the_vendor_to_an_ehr_launch_and_stops_when_disabled(
    live_torget: LiveTorget, open_page: Callable[[], Page], screenshots: Screenshots
) -> None:
    town, patient = OSLO, OSLO.patient
    vendor, reviewer, admin, clinician = open_page(), open_page(), open_page(), open_page()

    # 1-2. The vendor's new release, certified.
    version = release_and_submit(vendor, live_torget.public_url, screenshots)
    certify_release(reviewer, version, screenshots)

    # 3. Oslo runs 1.0.0; the new release adds launch/patient, which an EHR launch does
    # not need: the admin moves without it, and leaves out fhirUser too.
    sign_in(admin, town.admin)
    open_enablement(admin, town)
    reconsent = admin.locator("#reconsent")
    expect(reconsent.get_by_role("heading", level=2)).to_have_text(
        f"New release available: {version}"
    )
    expect(reconsent.locator("li.scope-added")).to_contain_text("launch/patient")
    expect(reconsent.get_by_role("checkbox", name=ending_in("launch/patient"))).not_to_be_checked()
    reconsent.get_by_role("checkbox", name=ending_in("fhirUser")).uncheck()
    reconsent.get_by_role("button", name=f"Approve and move to {version}").click()
    expect(admin.get_by_role("status")).to_contain_text(f"{APP_NAME} now runs release {version}.")
    assert sorted(approved_scopes(admin)) == sorted(
        ["launch", "openid", "patient/Patient.r", "patient/Observation.rs?category=vital-signs"]
    )
    screenshots.take(admin, "3-admin-enablement")

    # 4. The clinician finds the patient in the journal launcher and starts the app.
    sign_in(clinician, town.clinician)
    clinician.goto(f"/m/{town.slug}/epj")
    clinician.get_by_label("Name, fødselsnummer or birth date").fill(patient.name)
    clinician.get_by_role("button", name="Search").click()
    clinician.get_by_role("link", name=patient.name, exact=True).click()
    expect(clinician.locator(".patient-banner h2")).to_have_text(patient.name)
    start = clinician.get_by_role("button", name=f"Start {APP_NAME}")
    expect(start).to_be_visible()
    screenshots.take(clinician, "4-epj-launcher")
    start.click()

    clinician.wait_for_url(re.compile(r"/oauth/authorize\?"))
    expect(clinician.get_by_role("heading", level=1)).to_have_text(f"Allow {APP_NAME}?")
    expect(clinician.locator("#granted")).to_contain_text("patient/Observation.rs")
    dropped = clinician.locator("#dropped")
    expect(dropped).to_contain_text("launch/patient")
    expect(dropped).to_contain_text("fhirUser")
    screenshots.take(clinician, "5-consent")
    clinician.get_by_role("button", name="Allow").click()

    clinician.wait_for_url(re.compile(r"/examples/news2/index\.html"))
    expect_the_score(clinician)
    screenshots.take(clinician, "6-news2-score")

    # 5. Oslo disables the app: the open app's next request is refused.
    disable(admin, town)
    expect_refused_on_reload(clinician, town)
    screenshots.take(clinician, "7-app-refused")


def test_a_release_goes_from_the_vendor_to_a_standalone_launch_and_stops_when_disabled(
    live_torget: LiveTorget, open_page: Callable[[], Page]
) -> None:
    town, patient = BERGEN, BERGEN.patient
    vendor, reviewer, admin, clinician = open_page(), open_page(), open_page(), open_page()
    no_screenshots = Screenshots(None)

    # 1-2. The vendor's new release, certified.
    version = release_and_submit(vendor, live_torget.public_url, no_screenshots)
    certify_release(reviewer, version, no_screenshots)

    # 3. Bergen runs 1.1.0, which registered every scope the new release asks for: one
    # click moves, then the admin narrows the approval (no fhirUser).
    sign_in(admin, town.admin)
    open_enablement(admin, town)
    admin.get_by_role("button", name=f"Move to {version}", exact=True).click()
    expect(admin.get_by_role("status")).to_contain_text(f"{APP_NAME} now runs release {version}.")
    access = admin.locator("#access")
    access.get_by_role("checkbox", name=ending_in("fhirUser")).uncheck()
    access.get_by_role("button", name="Save the access").click()
    expect(admin.get_by_role("status")).to_contain_text(f"The access to {APP_NAME} is saved.")
    assert sorted(approved_scopes(admin)) == sorted(SCOPES.replace(" fhirUser", "").split()), (
        "the approval is the release's scopes but fhirUser"
    )

    # 4. The clinician opens the app on its own, picks the patient on the consent page.
    sign_in(clinician, town.clinician)
    iss = f"{live_torget.public_url}/fhir/{town.slug}"
    clinician.goto(f"/examples/news2/launch.html?{urlencode({'iss': iss})}")
    # Torget's consent page, or the app's redirect URI with Torget's refusal.
    clinician.wait_for_url(re.compile(r"/oauth/authorize\?|/examples/news2/index\.html\?error="))
    assert "error=" not in clinician.url, f"Torget refused the standalone launch: {clinician.url}"
    expect(clinician.get_by_role("heading", level=1)).to_have_text(f"Allow {APP_NAME}?")
    expect(clinician.locator("#dropped")).to_contain_text("fhirUser")
    clinician.get_by_label("Name, date of birth or national identity number").fill(patient.name)
    clinician.get_by_role("button", name="Search").click()
    clinician.locator(f"fieldset#patients input[name=patient][value='{patient.id}']").check()
    clinician.get_by_role("button", name="Allow").click()

    clinician.wait_for_url(re.compile(r"/examples/news2/index\.html"))
    expect_the_score(clinician)
    # A standalone launch needs the patient banner: the app read the patient too.
    expect(clinician.locator("#banner-name")).to_have_text(patient.name)

    # 5. Bergen disables the app: the open app's next request is refused.
    disable(admin, town)
    expect_refused_on_reload(clinician, town)
