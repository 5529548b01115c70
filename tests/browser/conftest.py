"""Fixtures for the browser tests: a live Torget per database, and Chromium.

One server per database per run, on a migrated database with the demo data;
Chromium comes from tests/conftest.py (one per run, shared with tests/smart);
each test gets a fresh browser context (own cookies, own session). Any request
a page makes to a host other than the server's fails the test: pages must
load nothing from a CDN or any other origin.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import (
    APIRequestContext,
    Browser,
    Page,
    Playwright,
    Request,
    WebSocket,
)
from werkzeug.serving import BaseWSGIServer, make_server

from tests.conftest import FreshDatabase, make_app
from torget.db import db

HOST = "127.0.0.1"
# Short enough that a missing element fails the test quickly.
TIMEOUT_MS = 10_000

OFFSITE_REQUESTS = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def live_server(
    fresh_database: FreshDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Torget with the demo data, served on a free port; yields its base URL.

    Parametrized over the databases through `fresh_database` (tests/conftest.py).
    """
    # Bind first, so the app can be told its own base URL.
    server: BaseWSGIServer = make_server(HOST, 0, _not_ready, threaded=True)
    base_url = f"http://{HOST}:{server.server_port}"
    app = make_app(
        fresh_database.new(), tmp_path_factory.mktemp("live-instance"), base_url=base_url
    )
    _migrate_and_load_demo(app)
    server.app = app
    thread = threading.Thread(target=server.serve_forever, name="live-torget", daemon=True)
    thread.start()
    try:
        yield base_url
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


def _not_ready(environ: dict, start_response: object) -> list[bytes]:
    raise RuntimeError("the live server was asked before its app was ready")


def _migrate_and_load_demo(app: Flask) -> None:
    with app.app_context():
        upgrade()
        db.engine.dispose()
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def page(browser: Browser, live_server: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a context of its own, recording every request to another host."""
    offsite: list[str] = []
    request.node.stash[OFFSITE_REQUESTS] = offsite
    context = browser.new_context(locale="nb-NO", base_url=live_server)
    context.set_default_timeout(TIMEOUT_MS)

    def record(req: Request) -> None:
        if _is_offsite(req.url):
            offsite.append(f"{req.method} {req.url}")

    def record_websocket(socket: WebSocket) -> None:
        if _is_offsite(socket.url):
            offsite.append(f"WEBSOCKET {socket.url}")

    context.on("request", record)
    page = context.new_page()
    page.on("websocket", record_websocket)
    yield page
    context.close()


@pytest.fixture
def api(playwright: Playwright, live_server: str) -> Iterator[APIRequestContext]:
    """An HTTP client with no cookies: it is whoever its headers say."""
    client = playwright.request.new_context(base_url=live_server)
    yield client
    client.dispose()


def _is_offsite(url: str) -> bool:
    parts = urlsplit(url)
    # data: and blob: URLs never leave the browser; about:blank is no request.
    if parts.scheme not in {"http", "https", "ws", "wss"}:
        return False
    return parts.hostname != HOST


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a test whose page asked any host but the live server."""
    result = yield
    offsite = item.stash.get(OFFSITE_REQUESTS, [])
    if offsite:
        pytest.fail("the page made requests off the site:\n  " + "\n  ".join(offsite))
    return result
