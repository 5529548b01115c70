"""The live-server infrastructure itself: gunicorn, its workers, the app origin, Chromium."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Page, Playwright

from auth import keys
from tests.conftest import CSRF_INPUT
from tests.factories.accounts import PASSWORD
from tests.factories.marketplace import TenantFactory, clinician_of
from tests.smart.conftest import FHIR_CLIENT_JS, STATIC
from tests.smart.live import (
    GunicornFailed,
    LiveTorget,
    LiveUrls,
    TorgetDatabase,
    ask_two_workers,
    free_port,
    start_gunicorn,
    torget_setup,
)


def make_clinician(urls: LiveUrls) -> dict[str, str]:
    tenant = TenantFactory()
    return {"email": clinician_of(tenant).email, "urls": urls}


pytestmark = torget_setup(make_clinician)


def current_kids(server: LiveTorget) -> set[str]:
    """The kids of the keys signing now: access tokens' (ES256) and ID tokens' (RS256)."""
    return server.database.run(lambda: {keys.current(alg).kid for alg in keys.SIGNING_ALGORITHMS})


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - a local http URL
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type(), error.read()


def test_both_workers_answer_healthz(live_torget: LiveTorget) -> None:
    answers = ask_two_workers(live_torget.base_url, "/healthz")

    assert [(a.status, a.body) for a in answers] == [(200, b"ok\n"), (200, b"ok\n")]


def test_both_workers_publish_the_key_made_before_they_started(live_torget: LiveTorget) -> None:
    first, second = ask_two_workers(live_torget.base_url, "/oauth/jwks")

    assert (first.status, second.status) == (200, 200)
    assert first.headers["Content-Type"] == "application/jwk-set+json"
    assert first.body == second.body
    published = {key["kid"] for key in json.loads(first.body)["keys"]}
    assert published == current_kids(live_torget)


def test_a_second_process_serves_the_same_jwks_until_stopped(
    live_torget: LiveTorget, start_second_torget
) -> None:
    second = start_second_torget()
    address = urlsplit(second.base_url)

    assert second.base_url != live_torget.base_url
    assert second.public_url == live_torget.public_url
    assert second.database_url == live_torget.database_url
    ours = ask_two_workers(live_torget.base_url, "/oauth/jwks")
    theirs = ask_two_workers(second.base_url, "/oauth/jwks")
    assert {answer.body for answer in ours + theirs} == {ours[0].body}
    assert {key["kid"] for key in json.loads(theirs[0].body)["keys"]} == current_kids(live_torget)

    second.stop()
    second.stop()  # a second stop is harmless

    # SIGTERM is gunicorn's graceful stop: the master exits normally.
    assert second.process.returncode == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((address.hostname, address.port), timeout=5).close()
    assert ask_two_workers(live_torget.base_url, "/healthz")[0].status == 200


def test_the_module_setup_is_told_the_urls(
    live_torget: LiveTorget, live_data: dict[str, object], smart_app_origin: str
) -> None:
    assert live_data["urls"] == LiveUrls(torget=live_torget.public_url, app_origin=smart_app_origin)


def test_the_server_sees_what_the_module_setup_made(
    live_torget: LiveTorget, live_data: dict[str, str], playwright: Playwright
) -> None:
    http = playwright.request.new_context(base_url=live_torget.base_url)
    try:
        page = http.get("/login")
        match = CSRF_INPUT.search(page.text())
        assert match, "no CSRF token on /login"
        form = {"email": live_data["email"], "csrf_token": match.group(1)}

        wrong = http.post("/login", form={**form, "password": "not-the-password"})
        right = http.post("/login", form={**form, "password": PASSWORD}, max_redirects=0)

        assert wrong.status == 401
        assert right.status == 303
    finally:
        http.dispose()


def test_a_server_that_cannot_start_fails_with_its_output(tmp_path) -> None:
    # SQLAlchemy knows no such dialect: every worker fails to boot, gunicorn exits.
    broken = TorgetDatabase("nonsense://nowhere", Flask(__name__))

    with pytest.raises(GunicornFailed) as failed:
        start_gunicorn(
            broken,
            port=free_port(),
            public_url="http://127.0.0.1:9",
            instance_path=tmp_path / "instance",
            scratch=tmp_path,
        )

    message = str(failed.value)
    assert "exited with" in message
    assert "sqlalchemy.dialects:nonsense" in message


def test_the_app_origin_serves_the_app_and_the_fhirclient_build(smart_app_origin: str) -> None:
    script = get(f"{smart_app_origin}/fhir-client.js")
    page = get(f"{smart_app_origin}/app.html")
    missing = get(f"{smart_app_origin}/no-such-file.js")

    assert script == (200, "text/javascript", FHIR_CLIENT_JS.read_bytes())
    assert page == (200, "text/html", (STATIC / "app.html").read_bytes())
    assert missing[0] == 404


def test_the_app_page_loads_fhirclient_in_chromium(smart_page: Page, smart_app_origin: str) -> None:
    errors: list[str] = []
    smart_page.on("pageerror", lambda error: errors.append(str(error)))

    smart_page.goto("/app.html?clientId=test-app")

    assert smart_page.evaluate("typeof FHIR.oauth2.authorize") == "function"
    assert smart_page.evaluate("typeof FHIR.oauth2.ready") == "function"
    # No ?iss= and no ?launch=: the app waits for the Launch button.
    assert smart_page.url == f"{smart_app_origin}/app.html?clientId=test-app"
    assert smart_page.locator("#launch").is_visible()
    assert smart_page.locator("#error").count() == 0
    assert errors == []


def test_the_callback_reports_a_visit_without_a_launch(smart_page: Page) -> None:
    smart_page.goto("/callback.html")

    assert "No 'state' parameter found" in smart_page.locator("#error").inner_text()
    assert smart_page.locator("#result").count() == 0
