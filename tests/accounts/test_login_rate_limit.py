"""The sign-in form's rate limit: per IP and per email address, with Retry-After.

Apps of their own on a database of their own: the limit commits each count on
a connection of its own, which the shared `db_session` fixture (one outer
transaction holding SQLite's write lock) cannot allow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete

from tests.conftest import csrf_token, login, make_app
from tests.factories.accounts import PASSWORD, UserFactory
from torget.config import DEFAULT_RATE_LIMITS
from torget.db import db
from torget.ratelimit import RateLimitWindow

# A whole minute: the login window starts here.
T = 6_048_000.0
THREE_A_MINUTE = {**DEFAULT_RATE_LIMITS, "login": (3, 60)}


@pytest.fixture
def limited_app(migrated_database_url: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Apps on the module's database, their clock stopped 20 s into a window."""
    apps: list[Flask] = []

    def build(**overrides: object) -> Flask:
        # On, unless a test says otherwise, whatever the shared test apps use.
        app = make_app(
            migrated_database_url, tmp_path, **{"rate_limits": DEFAULT_RATE_LIMITS, **overrides}
        )
        set_time(app, T + 20)
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            with db.engine.begin() as connection:
                connection.execute(delete(RateLimitWindow))
            db.engine.dispose()
        if app.config["TORGET"].redis_url:
            client = redis.Redis.from_url(app.config["TORGET"].redis_url)
            for key in client.scan_iter("torget:ratelimit:*"):
                client.delete(key)


def set_time(app: Flask, now: float) -> None:
    app.extensions["torget.ratelimit"].clock = lambda: now


def new_user(app: Flask) -> str:
    """A user committed to the module's database; their email address."""
    with app.app_context():
        user = UserFactory()
        db.session.commit()
        return user.email


def english_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    with client.session_transaction() as session:
        session["lang"] = "en"
    return client


WRONG = "not-the-password"


def from_ip(client: FlaskClient, ip: str, email: str, password: str = WRONG) -> object:
    token = csrf_token(client)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": ip},
    )


def assert_refused(response: object, seconds: int) -> None:
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(seconds)
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert f"Too many requests. Wait {seconds} seconds and try again." in page


def test_sign_in_works_under_the_limit_signed_in_or_not(limited_app, rate_limit_storage):
    app = limited_app(rate_limits=THREE_A_MINUTE, **rate_limit_storage)
    email = new_user(app)
    client = english_client(app)
    assert login(client, email, PASSWORD).status_code == 303
    # Signed in, the request reads the session before the view: the count
    # comes first, or SQLite would wait for the request's own write lock.
    assert login(client, email, PASSWORD).status_code == 303
    assert client.get("/account").status_code == 200


def test_sign_in_is_limited_per_ip_over_many_addresses(limited_app, rate_limit_storage):
    app = limited_app(rate_limits=THREE_A_MINUTE, **rate_limit_storage)
    email = new_user(app)
    client = english_client(app)
    for n in range(3):
        assert from_ip(client, "10.0.0.1", f"guess{n}@example.no").status_code == 401
    # The right password does not help once the address is over the limit.
    assert_refused(from_ip(client, "10.0.0.1", email, PASSWORD), seconds=40)
    assert from_ip(client, "10.0.0.2", email, PASSWORD).status_code == 303


def test_sign_in_is_limited_per_email_over_many_ips(limited_app, rate_limit_storage):
    app = limited_app(rate_limits=THREE_A_MINUTE, **rate_limit_storage)
    email = new_user(app)
    client = english_client(app)
    for n in range(3):
        assert from_ip(client, f"10.0.1.{n}", email).status_code == 401
    # However the address is typed, it is the same address.
    assert_refused(from_ip(client, "10.0.1.9", f"  {email.upper()} ", PASSWORD), seconds=40)
    assert from_ip(client, "10.0.1.9", new_user(app), PASSWORD).status_code == 303


def test_refused_and_failed_requests_are_counted(limited_app, rate_limit_storage):
    app = limited_app(rate_limits=THREE_A_MINUTE, **rate_limit_storage)
    email = new_user(app)
    client = english_client(app)
    # No CSRF token: refused with 400, and the request writes nothing.
    for _ in range(3):
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 400
    assert_refused(login(client, email, PASSWORD), seconds=40)
    assert_refused(login(client, email, PASSWORD), seconds=40)


def test_the_next_window_lets_sign_in_again(limited_app, rate_limit_storage):
    app = limited_app(rate_limits=THREE_A_MINUTE, **rate_limit_storage)
    email = new_user(app)
    client = english_client(app)
    for _ in range(3):
        assert login(client, email, WRONG).status_code == 401
    assert_refused(login(client, email, PASSWORD), seconds=40)
    set_time(app, T + 60)
    assert login(client, email, PASSWORD).status_code == 303


def test_the_form_itself_is_not_limited(limited_app):
    app = limited_app(rate_limits={**DEFAULT_RATE_LIMITS, "login": (1, 60)})
    client = english_client(app)
    assert {client.get("/login").status_code for _ in range(5)} == {200}


def test_the_failure_lockout_still_holds_under_the_limit(limited_app):
    app = limited_app(rate_limits=THREE_A_MINUTE, login_max_failures=2)
    email = new_user(app)
    client = english_client(app)
    for _ in range(2):
        assert from_ip(client, "10.0.2.1", email).status_code == 401
    locked = from_ip(client, "10.0.2.2", email, PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed sign-ins." in locked.get_data(as_text=True)


def test_off_never_refuses(limited_app):
    app = limited_app(rate_limits=None)
    client = english_client(app)
    for n in range(12):
        assert login(client, f"guess{n}@example.no", WRONG).status_code == 401
