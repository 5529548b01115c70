"""Rate limits: fixed windows counted in the database or in Redis, with Retry-After.

These tests run apps of their own on a database of their own: a count is
committed on a connection of its own, which the shared `db_session` fixture
(one outer transaction holding SQLite's write lock) cannot allow.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from sqlalchemy import delete, select

from tests.conftest import make_app
from torget import tokens
from torget.access import public
from torget.config import DEFAULT_RATE_LIMITS
from torget.db import db
from torget.ratelimit import (
    DatabaseCounter,
    Limiter,
    RateLimited,
    RateLimitWindow,
    Rule,
    check,
    client_ip,
    rate_limit,
    rule,
)

# A whole minute and a whole hour: windows of 60 s and 3600 s start here.
T = 6_048_000.0


class StoppedClock:
    """The time, as a test sets it: windows turn when the test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


AppMaker = Callable[..., Flask]


@pytest.fixture
def limited_app(migrated_database_url: str, tmp_path: Path) -> Iterator[AppMaker]:
    """Builds apps on the module's database with a stopped clock at T; forgets their counts."""
    apps: list[Flask] = []

    def build(**overrides: object) -> Flask:
        # On, unless a test says otherwise, whatever the shared test apps use.
        app = make_app(
            migrated_database_url, tmp_path, **{"rate_limits": DEFAULT_RATE_LIMITS, **overrides}
        )
        limiter(app).clock = StoppedClock(T)
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            with db.engine.begin() as connection:
                connection.execute(delete(RateLimitWindow))
            db.engine.dispose()
        redis_url = app.config["TORGET"].redis_url
        if redis_url:
            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter("torget:ratelimit:*"):
                client.delete(key)


def limiter(app: Flask) -> Limiter:
    return app.extensions["torget.ratelimit"]


def set_time(app: Flask, now: float) -> None:
    limiter(app).clock = StoppedClock(now)


def stored_counts(app: Flask) -> dict[str, int]:
    """What the storage holds: stored key (with window) -> count."""
    redis_url = app.config["TORGET"].redis_url
    if redis_url:
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        return {
            key.removeprefix("torget:ratelimit:"): int(client.get(key))
            for key in client.scan_iter("torget:ratelimit:*")
        }
    with app.app_context(), db.engine.connect() as connection:
        rows = connection.execute(select(RateLimitWindow.__table__)).all()
    return {f"{row.key}:{row.window_start}": row.count for row in rows}


def test_counts_up_to_the_limit_then_refuses_with_the_seconds_left(limited_app, rate_limit_storage):
    app = limited_app(**rate_limit_storage)
    set_time(app, T + 15.5)
    three_a_minute = Rule("token", limit=3, per=60)
    with app.app_context():
        for _ in range(3):
            check(three_a_minute, "client-a")
        with pytest.raises(RateLimited) as refused:
            check(three_a_minute, "client-a")
    assert refused.value.status == 429
    assert refused.value.retry_after == 45  # 44.5 s left in the window, rounded up
    assert refused.value.headers == {"Retry-After": "45"}


def test_a_new_window_starts_a_new_count(limited_app, rate_limit_storage):
    app = limited_app(**rate_limit_storage)
    one_a_minute = Rule("login", limit=1, per=60)
    with app.app_context():
        check(one_a_minute, "ip:10.0.0.1")
        set_time(app, T + 59.9)
        with pytest.raises(RateLimited) as refused:
            check(one_a_minute, "ip:10.0.0.1")
        assert refused.value.retry_after == 1  # never 0: "now" would invite a retry storm
        set_time(app, T + 60)
        check(one_a_minute, "ip:10.0.0.1")
        with pytest.raises(RateLimited) as refused:
            check(one_a_minute, "ip:10.0.0.1")
        assert refused.value.retry_after == 60


def test_keys_and_rules_count_apart(limited_app, rate_limit_storage):
    app = limited_app(**rate_limit_storage)
    with app.app_context():
        check(Rule("login", limit=1, per=60), "ip:10.0.0.1")
        with pytest.raises(RateLimited):
            check(Rule("login", limit=1, per=60), "ip:10.0.0.1")
        check(Rule("login", limit=1, per=60), "ip:10.0.0.2")
        check(Rule("token", limit=1, per=60), "ip:10.0.0.1")


def test_refused_requests_are_counted(limited_app, rate_limit_storage):
    app = limited_app(**rate_limit_storage)
    two = Rule("token", limit=2, per=60)
    with app.app_context():
        check(two, "client-a")
        check(two, "client-a")
        for _ in range(3):
            with pytest.raises(RateLimited):
                check(two, "client-a")
    key = f"token:{tokens.digest('client-a')}:{int(T)}"
    assert stored_counts(app) == {key: 5}


def test_only_a_hash_of_the_key_is_stored(limited_app, rate_limit_storage):
    app = limited_app(**rate_limit_storage)
    with app.app_context():
        check(rule("login"), "email:kari.nordmann@bergen.kommune.no")
    (stored,) = stored_counts(app)
    assert "kari" not in stored
    assert tokens.digest("email:kari.nordmann@bergen.kommune.no") in stored


def test_concurrent_requests_are_each_counted_once(limited_app, rate_limit_storage):
    app = limited_app(**rate_limit_storage)
    ten = Rule("token", limit=10, per=60)
    allowed: list[bool] = []

    def knock() -> None:
        with app.app_context():
            for _ in range(10):
                try:
                    check(ten, "client-a")
                    allowed.append(True)
                except RateLimited:
                    allowed.append(False)

    workers = [threading.Thread(target=knock) for _ in range(5)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert allowed.count(True) == 10
    assert allowed.count(False) == 40
    assert list(stored_counts(app).values()) == [50]


def test_redis_windows_expire_with_their_window(limited_app, redis_url):
    app = limited_app(redis_url=redis_url)
    with app.app_context():
        check(Rule("token", limit=5, per=60), "client-a")
    client = redis.Redis.from_url(redis_url)
    (key,) = client.scan_iter("torget:ratelimit:*")
    assert 0 < client.ttl(key) <= 60


def test_an_unreachable_redis_counts_in_the_database_and_says_so(
    migrated_database_url, tmp_path, caplog
):
    # Not `limited_app`: there is no Redis to clean up after.
    app = make_app(
        migrated_database_url,
        tmp_path,
        rate_limits=DEFAULT_RATE_LIMITS,
        redis_url="redis://127.0.0.1:1/0",
    )
    limiter(app).clock = StoppedClock(T)
    allowed = []
    try:
        with app.app_context(), caplog.at_level(logging.WARNING, logger="torget.ratelimit"):
            for _ in range(3):
                try:
                    check(Rule("token", limit=2, per=60), "client-a")
                    allowed.append(True)
                except RateLimited:
                    allowed.append(False)
            with db.engine.connect() as connection:
                counted = connection.scalars(select(RateLimitWindow.count)).all()
    finally:
        with app.app_context():
            with db.engine.begin() as connection:
                connection.execute(delete(RateLimitWindow))
            db.engine.dispose()
    # The limit holds through the outage: passwords cannot be guessed at will meanwhile.
    assert allowed == [True, True, False]
    assert counted == [3]
    assert "redis unreachable" in caplog.text
    assert "client-a" not in caplog.text


def test_the_database_forgets_windows_older_than_an_hour(limited_app):
    app = limited_app()
    assert isinstance(limiter(app).counter, DatabaseCounter)
    with app.app_context():
        check(Rule("token", limit=5, per=60), "old")
        set_time(app, T + 3600 + 60)
        check(Rule("token", limit=5, per=60), "new")
    assert stored_counts(app) == {f"token:{tokens.digest('new')}:{int(T) + 3660}": 1}


def test_rule_reads_the_configured_limits(limited_app):
    app = limited_app(rate_limits={**DEFAULT_RATE_LIMITS, "login": (3, 10)})
    with app.app_context():
        assert rule("login") == Rule("login", limit=3, per=10)
        assert rule("token") == Rule("token", limit=600, per=60)
        with pytest.raises(KeyError):
            rule("no-such-limit")


def test_off_counts_nothing(limited_app, rate_limit_storage):
    app = limited_app(rate_limits=None, **rate_limit_storage)
    with app.app_context():
        for _ in range(5):
            check(Rule("token", limit=1, per=60), "client-a")
    assert stored_counts(app) == {}


def add_probe(app: Flask, path: str) -> None:
    """A route limited per IP to rule "token", as the OAuth endpoints use it."""

    @public
    @rate_limit("token", ip=client_ip)
    def probe() -> str:
        return "ok"

    app.add_url_rule(path, "probe", probe, methods=["GET", "POST"])


@pytest.mark.parametrize(
    ("path", "mimetype"),
    [("/api/v1/probe", "application/problem+json"), ("/probe", "text/html")],
)
def test_a_limited_route_answers_429_with_retry_after(limited_app, path, mimetype):
    app = limited_app(rate_limits={**DEFAULT_RATE_LIMITS, "token": (2, 60)})
    set_time(app, T + 20)
    add_probe(app, path)
    client = app.test_client()
    with client.session_transaction() as session:
        session["lang"] = "en"
    assert [client.get(path).status_code for _ in range(2)] == [200, 200]
    refused = client.get(path)
    assert refused.status_code == 429
    assert refused.mimetype == mimetype
    assert refused.headers["Retry-After"] == "40"
    assert "Too many requests. Wait 40 seconds and try again." in refused.get_data(as_text=True)
    other_ip = client.get(path, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_ip.status_code == 200


def test_a_limit_on_some_methods_leaves_the_others_alone(limited_app):
    app = limited_app(rate_limits={**DEFAULT_RATE_LIMITS, "token": (1, 60)})

    @public
    @rate_limit("token", methods=["POST"], ip=client_ip)
    def probe() -> str:
        return "ok"

    app.add_url_rule("/probe", "probe", probe, methods=["GET", "POST"])
    client = app.test_client()
    assert [client.get("/probe").status_code for _ in range(3)] == [200, 200, 200]
    # Counted before the CSRF check refuses the form; refused after it.
    assert client.post("/probe").status_code == 400
    assert client.post("/probe").status_code == 429
