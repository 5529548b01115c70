"""The npm `fhirclient` (its browser build) launches a public app with PKCE, in Chromium.

The app (tests/smart/static) is served from another origin than Torget, as a
real app is: its discovery read and its code exchange are cross-origin
requests that only CORS lets through. Playwright plays the clinician: signs
in, picks the patient, approves.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from playwright.sync_api import Page, Request

from catalog import credentials
from catalog.models import ClientType, Environment, ReleaseState
from marketplace import enablements, terms
from marketplace.enablements import Access
from tests.factories.accounts import PASSWORD
from tests.factories.catalog import ReleaseFactory
from tests.factories.gateway import add_patient
from tests.factories.marketplace import TenantFactory, admin_of, clinician_of
from tests.smart.live import LiveTorget, LiveUrls, torget_setup
from torget.db import db

SCOPE = "launch/patient openid fhirUser patient/Patient.r"
PATIENTS = {"pas-js-1": "Kari Nordmann", "pas-js-2": "Ola Nordmann"}


@dataclass(frozen=True)
class BrowserApp:
    tenant: str
    client_id: str
    clinician: str


def make_browser_app(urls: LiveUrls) -> BrowserApp:
    release = ReleaseFactory(
        state=ReleaseState.CERTIFIED,
        client_type=ClientType.PUBLIC,
        scopes=SCOPE,
        redirect_uris=[f"{urls.app_origin}/callback.html"],
        launch_url=f"{urls.app_origin}/app.html",
        launch_modes=["standalone"],
    )
    client = credentials.ensure_client(release.application, Environment.PRODUCTION)
    tenant = TenantFactory()
    enablements.enable(
        tenant,
        release.application,
        Access(SCOPE.split(), ["clinician"]),
        terms_version=terms.VERSION,
        by=admin_of(tenant),
    )
    for fhir_id, name in PATIENTS.items():
        add_patient(tenant_id=tenant.id, fhir_id=fhir_id, name=name)
    db.session.flush()  # the rows exist before the unit of work ends
    return BrowserApp(tenant.slug, client.client_id, clinician_of(tenant).email)


pytestmark = torget_setup(make_browser_app)


def fhir_base(server: LiveTorget, app: BrowserApp) -> str:
    return f"{server.public_url}/fhir/{app.tenant}"


def launch(page: Page, server: LiveTorget, app: BrowserApp, **settings: str) -> None:
    """Open the app with ?iss=: fhirclient's authorize() starts a standalone launch by itself."""
    query = {"clientId": app.client_id, "scope": SCOPE, "iss": fhir_base(server, app), **settings}
    page.goto(f"/app.html?{urlencode(query)}")


def sign_in(page: Page, server: LiveTorget, app: BrowserApp) -> None:
    page.wait_for_url(lambda url: url.startswith(f"{server.public_url}/login?"))
    form = page.locator("form[action='/login']")
    form.locator("input[name=email]").fill(app.clinician)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_url(lambda url: url.startswith(f"{server.public_url}/oauth/authorize?"))


def outcome(page: Page) -> tuple[str, str]:
    """What callback.html shows once the code exchange is over: ("result" | "error", text)."""
    shown = page.locator("#result, #error")
    shown.wait_for()
    return shown.get_attribute("id") or "", shown.inner_text()


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_a_standalone_launch_with_pkce_from_another_origin(
    smart_page: Page, live_torget: LiveTorget, live_data: BrowserApp, smart_app_origin: str
) -> None:
    assert urlsplit(smart_app_origin).netloc != urlsplit(live_torget.public_url).netloc
    to_torget: list[Request] = []
    smart_page.on(
        "request",
        lambda r: to_torget.append(r) if r.url.startswith(live_torget.public_url) else None,
    )

    launch(smart_page, live_torget, live_data)
    sign_in(smart_page, live_torget, live_data)
    smart_page.locator("fieldset#patients input[name=patient][value='pas-js-2']").check()
    smart_page.locator("button[name=decision][value=approve]").click()
    kind, text = outcome(smart_page)

    assert kind == "result", text
    result = json.loads(text)
    assert result["patient"] == "pas-js-2"
    assert result["access_token"] is True
    assert result["token_type"] == "Bearer"
    assert set(result["scope"].split()) == set(SCOPE.split())
    assert result["need_patient_banner"] is True
    assert result["server"] == fhir_base(live_torget, live_data)
    assert result["pkce"] is True
    # The app then read its patient through the gateway, cross-origin, with the token.
    assert (result.get("read"), result.get("read_name")) == ("Patient/pas-js-2", "Ola Nordmann")
    (read,) = [r for r in to_torget if urlsplit(r.url).path.endswith("/Patient/pas-js-2")]
    assert read.response().headers["access-control-allow-origin"] == "*"
    # The callback came from Torget, with the issuer (RFC 9207).
    callback = parse_qs(urlsplit(smart_page.url).query)
    assert callback["iss"] == [live_torget.public_url]
    # PKCE on the wire: an S256 challenge in the authorization request, and a
    # verifier matching it in the code exchange.
    (asked, *_back_from_login) = [
        r for r in to_torget if urlsplit(r.url).path == "/oauth/authorize" and r.method == "GET"
    ]
    challenge = parse_qs(urlsplit(asked.url).query)
    assert challenge["code_challenge_method"] == ["S256"]
    assert challenge["aud"] == [fhir_base(live_torget, live_data)]
    (exchange,) = [r for r in to_torget if urlsplit(r.url).path == "/oauth/token"]
    form = parse_qs(exchange.post_data or "")
    assert form["grant_type"] == ["authorization_code"]
    assert form["client_id"] == [live_data.client_id]
    assert "client_secret" not in form
    assert s256(form["code_verifier"][0]) == challenge["code_challenge"][0]
    # Cross-origin: the browser said where the app runs, and Torget allowed it.
    assert exchange.all_headers()["origin"] == smart_app_origin
    answer = exchange.response()
    assert answer is not None
    assert answer.status == 200
    assert answer.headers["access-control-allow-origin"] == "*"


def test_a_denied_consent_reaches_the_app_as_an_error(
    smart_page: Page, live_torget: LiveTorget, live_data: BrowserApp
) -> None:
    launch(smart_page, live_torget, live_data)
    sign_in(smart_page, live_torget, live_data)
    smart_page.locator("button[name=decision][value=deny]").click()
    kind, text = outcome(smart_page)

    assert kind == "error"
    assert "access_denied" in text
    assert "The user declined." in text


def test_an_unregistered_redirect_uri_stays_on_torgets_error_page(
    smart_page: Page, live_torget: LiveTorget, live_data: BrowserApp, smart_app_origin: str
) -> None:
    # Sent before sign-in: a request naming a foreign redirect URI is refused at once.
    with smart_page.expect_response(lambda r: urlsplit(r.url).path == "/oauth/authorize") as seen:
        launch(smart_page, live_torget, live_data, redirectUri="elsewhere.html")

    assert seen.value.status == 400
    assert seen.value.headers.get("location") is None
    smart_page.wait_for_url(lambda url: url.startswith(f"{live_torget.public_url}/oauth/"))
    # Torget's own error page (in bokmål: the browser has no Torget session yet).
    assert "400" in smart_page.locator("p.muted").inner_text()
    assert smart_page.locator("h1").inner_text()
    assert not smart_page.url.startswith(smart_app_origin)
