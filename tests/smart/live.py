"""Torget under gunicorn, as production runs it, for tests with real SMART clients.

A real client (the Python fhirclient, the npm fhirclient in Chromium) talks
HTTP to real worker processes: several of them, on one shared database. The
Flask test client would share one process, one session and one transaction
with the test, and hide what only separate processes show (a signing key made
by one worker and not the other, two workers redeeming one code at once).
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask_migrate import upgrade

from auth import keys
from tests.conftest import TEST_KEY_ENCRYPTION_KEY, TEST_SECRET, make_app
from torget.db import db, unit_of_work

REPO = Path(__file__).resolve().parents[2]
# The gunicorn of the virtualenv that runs the tests, so it imports the same Torget.
GUNICORN = Path(sys.executable).parent / "gunicorn"
# Production's settings (log to stderr, timeouts, no control socket); the command
# line below overrides its bind address and worker count.
GUNICORN_CONFIG = REPO / "deploy" / "gunicorn.conf.py"
HOST = "127.0.0.1"
WORKERS = 2
# Generous: a worker imports all of Torget on a busy CI machine before it answers.
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
# Guards a request against hanging forever; no assertion depends on it.
REQUEST_TIMEOUT_S = 30.0
# Only these of the test runner's variables reach the server: a developer's own
# DATABASE_URL, REDIS_URL or TORGET_* must not leak into it.
INHERITED_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")

Result = TypeVar("Result")


@dataclass(frozen=True)
class LiveUrls:
    """Where things will be, for setup functions that register redirect and launch URLs."""

    # TORGET_BASE_URL of every gunicorn process on the database: issuer, endpoints.
    torget: str
    # The origin serving tests/smart/static (app.html, callback.html).
    app_origin: str


Setup = Callable[[LiveUrls], Any]


def torget_setup(function: Setup) -> pytest.MarkDecorator:
    """The marker naming a module's setup function: `pytestmark = torget_setup(function)`.

    `pytest.mark.torget_setup(function)` would decorate the function instead:
    a marker called with one function as its only argument applies itself to it.
    """
    return pytest.mark.torget_setup.with_args(function)


class GunicornFailed(RuntimeError):
    """Gunicorn exited or never answered; the message ends with its output."""


def free_port() -> int:
    """A TCP port on HOST that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@dataclass
class TorgetDatabase:
    """A migrated database with the demo data, and an app to work on it directly."""

    url: str
    app: Flask
    # What each setup function returned, by function.
    results: dict[Setup, Any] = field(default_factory=dict)

    def run(self, work: Callable[[], Result]) -> Result:
        """`work()` in an app context and one unit of work: committed when it returns."""
        with self.app.app_context(), unit_of_work():
            return work()

    def dispose(self) -> None:
        with self.app.app_context():
            db.engine.dispose()


def prepare_database(
    url: str, instance_path: Path, urls: LiveUrls, setups: Sequence[Setup]
) -> TorgetDatabase:
    """Migrate `url`, load the demo data, make a signing key, then run each `setup(urls)` once.

    The key exists before any worker starts, so every worker of every process
    signs with the same key instead of each making its own.
    """
    app = make_app(url, instance_path, base_url=urls.torget)
    with app.app_context():
        upgrade()
    loaded = app.test_cli_runner().invoke(args=["demo", "load"])
    assert loaded.exit_code == 0, loaded.output
    database = TorgetDatabase(url, app)
    database.run(keys.ensure_current)
    for setup in setups:
        database.results[setup] = database.run(partial(setup, urls))
    database.dispose()
    return database


@dataclass
class LiveTorget:
    """One gunicorn master and its workers, serving Torget on one port.

    `base_url` is where this process listens: send requests there.
    `public_url` is the TORGET_BASE_URL it was started with, the one URL every
    process behind a load balancer shares (the issuer, the token endpoint's
    audience); for the first process of a database the two are the same.
    """

    base_url: str
    public_url: str
    database: TorgetDatabase
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def database_url(self) -> str:
        return self.database.url

    def log(self, start: int = 0) -> str:
        """Gunicorn's and Torget's output (stdout and stderr), from byte `start` on."""
        with self.log_path.open("rb") as handle:
            handle.seek(start)
            return handle.read().decode(errors="replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def stop(self) -> None:
        """SIGTERM (gunicorn's graceful stop), then SIGKILL to the whole group if it hangs."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            # The master has a process group of its own (start_new_session), so
            # this reaches its workers and nothing else.
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def start_gunicorn(
    database: TorgetDatabase,
    *,
    port: int,
    public_url: str,
    instance_path: Path,
    scratch: Path,
) -> LiveTorget:
    """Start gunicorn with WORKERS workers on HOST:`port` and wait until /healthz answers.

    Raises GunicornFailed, carrying gunicorn's output, when it exits or does
    not answer within START_TIMEOUT_S.
    """
    base_url = f"http://{HOST}:{port}"
    metrics = scratch / f"prometheus-{port}"
    environment = {name: os.environ[name] for name in INHERITED_VARIABLES if name in os.environ}
    environment.update(
        TORGET_ENV="test",
        DATABASE_URL=database.url,
        TORGET_BASE_URL=public_url,
        SECRET_KEY=TEST_SECRET,
        TORGET_KEY_ENCRYPTION_KEY=TEST_KEY_ENCRYPTION_KEY,
        TORGET_INSTANCE_PATH=str(instance_path),
        # Ten redemptions of one code in a burst are the point of some tests.
        TORGET_RATE_LIMITS="off",
        # One directory per process: gunicorn.conf.py empties it at start.
        PROMETHEUS_MULTIPROC_DIR=str(metrics),
    )
    log_path = scratch / f"gunicorn-{port}.log"
    command = [
        str(GUNICORN),
        "--config",
        str(GUNICORN_CONFIG),
        "--workers",
        str(WORKERS),
        "--bind",
        f"{HOST}:{port}",
        "torget.app:create_app()",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: a Ctrl-C on the test run reaches pytest, whose
            # teardown stops the server, and stop() can end every worker at once.
            start_new_session=True,
        )
    server = LiveTorget(base_url, public_url, database, process, log_path)
    try:
        _wait_until_healthy(server)
    except GunicornFailed:
        server.stop()
        raise
    return server


def _wait_until_healthy(server: LiveTorget) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise GunicornFailed(
                f"gunicorn for {server.base_url} exited with {server.process.returncode} "
                f"before it answered /healthz. Its output:\n{server.log()}"
            )
        try:
            with urllib.request.urlopen(f"{server.base_url}/healthz", timeout=1) as response:  # noqa: S310 - our own http URL
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise GunicornFailed(
        f"gunicorn for {server.base_url} did not answer /healthz within {START_TIMEOUT_S:.0f} s. "
        f"Its output:\n{server.log()}"
    )


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def ask_two_workers(base_url: str, path: str) -> tuple[Answer, Answer]:
    """GET `path` once from each of two different workers of the server at `base_url`.

    A sync worker serves one connection at a time and waits, without a
    deadline, for a request's headers to end. So the first request is sent
    without its last line: the worker that accepted it is held reading it,
    and the second request can only be answered by another worker. Then the
    first request is finished and its worker answers too. With a single live
    worker the second request waits behind the first until REQUEST_TIMEOUT_S,
    and this raises TimeoutError.
    """
    parts = urlsplit(base_url)
    address = (parts.hostname or HOST, parts.port or 80)
    with socket.create_connection(address, timeout=REQUEST_TIMEOUT_S) as held:
        held.sendall(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n".encode())
        other = _get(f"{base_url}{path}")
        held.sendall(b"Connection: close\r\n\r\n")
        response = http.client.HTTPResponse(held)
        response.begin()
        first = Answer(response.status, dict(response.getheaders()), response.read())
    return first, other


def _get(url: str) -> Answer:
    request = urllib.request.Request(url, method="GET")  # noqa: S310 - our own http URL
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:  # noqa: S310
            return Answer(response.status, dict(response.getheaders()), response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers.items()), error.read())
