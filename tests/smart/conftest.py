"""Fixtures for tests with real SMART clients: Torget under gunicorn, and an app origin.

- `live_torget` (session, per database): gunicorn with two workers on a
  database migrated with the demo data, a signing key, and what the test
  modules' setup functions made. One per database per run.
- `start_second_torget` (session, per database): starts another gunicorn
  process on the same database and public URL; stopped at the end of the run.
- `live_data`: what the setup function of the test's module returned.
- `smart_app_origin` (session): a second origin serving tests/smart/static/
  and the npm fhirclient's browser build at /fhir-client.js.
- `smart_page`: a fresh Chromium page; a request to any host but 127.0.0.1
  fails the test.

A module supplies its setup function with a marker; it runs once per
database, in an app context and one unit of work, before gunicorn starts.
It is given the URLs it may need to register (Torget's public URL, the app
origin):

    from tests.smart.live import LiveUrls, torget_setup

    def make_app_under_test(urls: LiveUrls) -> dict[str, str]:
        release = ReleaseFactory(  # services or tests/factories
            redirect_uris=[f"{urls.app_origin}/callback.html"], ...
        )
        # Plain values: ORM objects are expired by the commit and detached.
        return {"client_id": ...}

    pytestmark = torget_setup(make_app_under_test)

    def test_launch(live_torget, live_data): ...

When a test fails, the part of each server's output written during it is
added to the report.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Request
from werkzeug.exceptions import NotFound
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.serving import make_server

from tests.conftest import FreshDatabase
from tests.smart.live import (
    HOST,
    REPO,
    GunicornFailed,
    LiveTorget,
    LiveUrls,
    Setup,
    free_port,
    prepare_database,
    start_gunicorn,
)

STATIC = Path(__file__).parent / "static"
FHIR_CLIENT_JS = REPO / "node_modules" / "fhirclient" / "build" / "fhir-client.js"
# Short enough that a page that never finishes fails the test quickly.
PAGE_TIMEOUT_MS = 15_000

SERVERS = pytest.StashKey[list[LiveTorget]]()
LOG_START = pytest.StashKey[tuple[int, dict[int, int]]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "torget_setup(function): run function(urls) once per database before gunicorn starts; "
        "the live_data fixture returns its result",
    )
    config.stash[SERVERS] = []


def _setups(session: pytest.Session) -> list[Setup]:
    """The setup functions of every selected test, each once, in collection order."""
    found: dict[Setup, None] = {}
    for item in session.items:
        for marker in item.iter_markers("torget_setup"):
            if len(marker.args) != 1 or not callable(marker.args[0]) or marker.kwargs:
                pytest.fail(f"{item.nodeid}: use torget_setup(function) from tests.smart.live")
            found[marker.args[0]] = None
    return list(found)


@pytest.fixture(scope="session")
def live_torget(
    fresh_database: FreshDatabase,
    smart_app_origin: str,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[LiveTorget]:
    """Gunicorn serving Torget on a database of this run's kind (SQLite or PostgreSQL)."""
    port = free_port()
    public_url = f"http://{HOST}:{port}"
    instance = tmp_path_factory.mktemp("smart-instance")
    database = prepare_database(
        fresh_database.new(),
        instance,
        LiveUrls(torget=public_url, app_origin=smart_app_origin),
        _setups(request.session),
    )
    server = _started(
        request.config,
        lambda: start_gunicorn(
            database,
            port=port,
            public_url=public_url,
            instance_path=instance,
            scratch=tmp_path_factory.mktemp("smart-gunicorn"),
        ),
    )
    yield server
    server.stop()
    database.dispose()


@pytest.fixture(scope="session")
def start_second_torget(
    live_torget: LiveTorget,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Callable[[], LiveTorget]]:
    """Starts another gunicorn on `live_torget`'s database, as a second node behind one URL.

    It listens on a port of its own (its `base_url`) and shares `public_url`.
    """
    started: list[LiveTorget] = []

    def start() -> LiveTorget:
        server = _started(
            request.config,
            lambda: start_gunicorn(
                live_torget.database,
                port=free_port(),
                public_url=live_torget.public_url,
                instance_path=Path(live_torget.database.app.instance_path),
                scratch=tmp_path_factory.mktemp("smart-gunicorn"),
            ),
        )
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _started(config: pytest.Config, start: Callable[[], LiveTorget]) -> LiveTorget:
    try:
        server = start()
    except GunicornFailed as failure:
        pytest.fail(str(failure), pytrace=False)
    config.stash[SERVERS].append(server)
    return server


@pytest.fixture
def live_data(live_torget: LiveTorget, request: pytest.FixtureRequest) -> object:
    """What the function in this test's `torget_setup` marker returned on this database."""
    marker = request.node.get_closest_marker("torget_setup")
    if marker is None:
        pytest.fail("live_data needs pytestmark = torget_setup(function) (tests.smart.live)")
    return live_torget.database.results[marker.args[0]]


@pytest.fixture(autouse=True)
def _server_log_offsets(request: pytest.FixtureRequest) -> None:
    """How many servers had started when this test began; where each running one's log stood."""
    servers = request.config.stash[SERVERS]
    request.node.stash[LOG_START] = (
        len(servers),
        {i: server.log_size() for i, server in enumerate(servers) if server.process.poll() is None},
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On failure, show what each server wrote during the test (a 500's traceback).

    A server started during the test shows all its output; one stopped before
    it began, none.
    """
    report = yield
    if report.failed:
        known, offsets = item.stash.get(LOG_START, (0, {}))
        for index, server in enumerate(item.config.stash[SERVERS]):
            start = offsets.get(index, 0 if index >= known else None)
            output = server.log(start).strip() if start is not None else ""
            if output:
                report.sections.append((f"gunicorn {server.base_url}", output))
    return report


@pytest.fixture(scope="session")
def smart_app_origin() -> Iterator[str]:
    """Base URL of the static SMART app: another origin than Torget, as a real app is."""
    if not FHIR_CLIENT_JS.is_file():
        pytest.fail(f"{FHIR_CLIENT_JS} is missing: run `make node-deps`.", pytrace=False)
    files = SharedDataMiddleware(
        NotFound(),
        [("/fhir-client.js", str(FHIR_CLIENT_JS)), ("/", str(STATIC))],
        cache=False,
    )
    server = make_server(HOST, 0, files, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="smart-app-origin", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def smart_page(browser: Browser, smart_app_origin: str) -> Iterator[Page]:
    """A page in a fresh context (own storage, own cookies), relative to the app's origin."""
    offsite: list[str] = []
    context = browser.new_context(locale="en-GB", base_url=smart_app_origin)
    context.set_default_timeout(PAGE_TIMEOUT_MS)

    def record(req: Request) -> None:
        parts = urlsplit(req.url)
        if parts.scheme in {"http", "https", "ws", "wss"} and parts.hostname != HOST:
            offsite.append(f"{req.method} {req.url}")

    context.on("request", record)
    page = context.new_page()
    yield page
    context.close()
    if offsite:
        pytest.fail("the page made requests off this machine:\n  " + "\n  ".join(offsite))
