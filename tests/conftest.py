"""Fixtures: an app per database, a transaction per test, a client, a runner.

Every test that uses `db` (and so `client`) runs on SQLite and, when
TEST_DATABASE_URL is set (`make test` sets it), on PostgreSQL too. In CI a
missing TEST_DATABASE_URL is an error, not a quiet SQLite-only run.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_babel import force_locale
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSession
from playwright.sync_api import Browser, Playwright, sync_playwright

from accounts import api_tokens
from accounts.models import User
from tests.factories.accounts import PASSWORD
from torget.app import create_app
from torget.db import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
# 32 bytes, urlsafe base64: encrypts the signing keys of every test app.
TEST_KEY_ENCRYPTION_KEY = "dGVzdC1rZXktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM="
DATABASES = ["sqlite", "postgresql"] if TEST_DATABASE_URL else ["sqlite"]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI") and not TEST_DATABASE_URL:
        raise pytest.UsageError(
            "CI must test PostgreSQL too: set TEST_DATABASE_URL (make test does)."
        )


def pytest_report_header() -> str:
    return f"torget databases: {', '.join(DATABASES)}"


def make_app(database_url: str, instance_path: Path, **overrides: object) -> Flask:
    return create_app(
        {
            "env": "test",
            "database_url": database_url,
            "secret_key": TEST_SECRET,
            "key_encryption_key": TEST_KEY_ENCRYPTION_KEY,
            "instance_path": str(instance_path),
            "rate_limits": None,
            **overrides,
        },
        environ={},
    )


class FreshDatabase:
    """Creates empty databases of one kind, for tests that need their own."""

    def __init__(self, kind: str, scratch: Path) -> None:
        self.kind = kind
        self.scratch = scratch
        self.created: list[str] = []

    def new(self) -> str:
        name = f"torget_{uuid.uuid4().hex[:12]}"
        if self.kind == "sqlite":
            return f"sqlite:///{self.scratch / (name + '.db')}"
        admin = sa.create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        self.created.append(name)
        return str(sa.make_url(TEST_DATABASE_URL).set(database=name))

    def drop_all(self) -> None:
        if not self.created:
            return
        admin = sa.create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name in self.created:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """TEST_REDIS_URL, or a throwaway redis-server of our own on a free port."""
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path_factory.mktemp("redis")),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _attempt in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url
    server.terminate()
    server.wait(timeout=10)


# Here, not in one test folder: Playwright's sync API runs one driver per
# process, so tests/browser and tests/smart share this one.
@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run `make system-deps`.")
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture(scope="session", params=DATABASES)
def database_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def fresh_database(
    database_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FreshDatabase]:
    databases = FreshDatabase(database_kind, tmp_path_factory.mktemp("databases"))
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def app(fresh_database: FreshDatabase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The application on a database migrated once per run (never create_all)."""
    app = make_app(fresh_database.new(), tmp_path_factory.mktemp("instance"))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield app
    with app.app_context():
        db.engine.dispose()


class BoundSession(FlaskSession):
    """Flask-SQLAlchemy's session, bound to the test's connection.

    Flask-SQLAlchemy picks an engine per query; the test wants every query on
    the one connection that holds its outer transaction.
    """

    def get_bind(self, *args: object, **kwargs: object) -> sa.Connection:
        return self.bind  # type: ignore[return-value]


@pytest.fixture(scope="module")
def migrated_database_url(
    fresh_database: FreshDatabase, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A migrated database of the module's own, for apps a test makes with other settings."""
    url = fresh_database.new()
    app = make_app(url, tmp_path_factory.mktemp("instance"))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture(params=["database", "redis"])
def rate_limit_storage(request: pytest.FixtureRequest) -> dict[str, str]:
    """Config overrides for each place the rate limits count in."""
    if request.param == "redis":
        return {"redis_url": request.getfixturevalue("redis_url")}
    return {}


@pytest.fixture
def db_session(app: Flask) -> Iterator[None]:
    """Each test in an outer transaction, rolled back after it (warehouse's recipe).

    Requests commit as usual; with `create_savepoint` their commits release
    savepoints inside the outer transaction, so nothing outlives the test.
    """
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {
                "bind": connection,
                "join_transaction_mode": "create_savepoint",
                "class_": BoundSession,
            }
        )
        try:
            yield
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


class RequestIsolatingClient(FlaskClient):
    """Runs each request in an app context of its own, as a server does.

    Flask reuses an app context that is already pushed (the test's own, from
    `db_session`), which would share `g` (the user, the CSRF token, the
    rollback flag) across every request of a test.
    """

    def open(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
        with self.application.app_context():
            return super().open(*args, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def client(app: Flask, db_session: None) -> FlaskClient:
    app.test_client_class = RequestIsolatingClient
    return app.test_client()


@pytest.fixture
def runner(app: Flask, db_session: None) -> FlaskCliRunner:
    return app.test_cli_runner()


CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token a page hands out, as a browser would read it."""
    page = client.get(path)
    match = CSRF_INPUT.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str) -> object:
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def english(db_session: None) -> Iterator[None]:
    """Service messages in English for this test (outside a request they are in bokmål).

    Service tests read the messages a person would see; they are written
    against the English source text, while the default language is bokmål.
    """
    with force_locale("en"):
        yield


def bearer(user: User) -> dict[str, str]:
    """The Authorization header of a fresh personal API token of `user`."""
    issued = api_tokens.issue(user, name="test", expires_in_days=1)
    return {"Authorization": f"Bearer {issued.secret}"}


def sign_in_in_english(client: FlaskClient, user: User) -> str:
    """Sign `user` in and read the pages in English; the CSRF token of the new session.

    English is the source language of the messages tests compare.
    """
    assert login(client, user.email, PASSWORD).status_code == 303
    token = csrf_token(client, "/account")
    client.post("/language", data={"lang": "en", "csrf_token": token})
    return token
