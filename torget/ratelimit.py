"""Request rate limits per client and per IP, with Retry-After.

Each limit is a fixed window: at most `limit` requests per key in each `per`
seconds, counted in Redis when REDIS_URL is set (every node shares it), else in
the `rate_limit_window` table. A request past the limit gets 429 with
`Retry-After` (the seconds until its window ends); it is counted too, so a
client that keeps knocking stays refused until the window turns.

The count is written at once, in its own transaction on its own connection:
the request's transaction rolls back on any error, the refusal included, and
must not take the count with it. On SQLite every transaction holds the write
lock (torget.db), so the count must be written before the request's session
has begun one, or it waits for a lock its own request holds. Hence
`@rate_limit(...)` on a view: it counts in a before_request hook that
`create_app()` registers ahead of any hook that reads the database.

    @bp.post("/oauth/token")
    @rate_limit("token", client=client_id_of_request)
    def token() -> ResponseReturnValue: ...

`check(rule("token"), key)` counts one request by hand, for code that runs
before the request's session is used.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import redis
from flask import Flask, current_app, request
from flask_babel import ngettext
from sqlalchemy import String, bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from torget import tokens
from torget.config import DEFAULT_RATE_LIMITS, LONGEST_RATE_WINDOW
from torget.db import cacheable, db
from torget.errors import TooManyRequests

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
KeyFunction = Callable[[], str | None]
"""Reads one key of the current request (its IP, its client_id); None: not counted."""

EXTENSION = "torget.ratelimit"
_ATTRIBUTE = "_torget_rate_limit"
# How often a node deletes the database's ended windows: a full scan of a small table.
SWEEP_EVERY = 600


class RateLimitWindow(db.Model):
    """Requests counted per key and fixed window, when no Redis is configured."""

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    window_start: Mapped[int] = mapped_column(primary_key=True)  # epoch seconds
    count: Mapped[int] = mapped_column(default=0)


@dataclass(frozen=True)
class Rule:
    """At most `limit` requests per key in each fixed window of `per` seconds."""

    name: str
    limit: int
    per: int


class RateLimited(TooManyRequests):
    """Past a rate limit; `retry_after` seconds (at least 1) until the window turns."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            ngettext(
                "Too many requests. Wait %(num)d second and try again.",
                "Too many requests. Wait %(num)d seconds and try again.",
                retry_after,
            ),
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class Counter(Protocol):
    def hit(self, key: str, window_start: int, per: int, now: float) -> int:
        """Count one request for `key` in the window; the window's count so far."""


class RedisCounter:
    """Counts in Redis: one key per window, which expires after its window."""

    def __init__(self, url: str, fallback: Counter) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self.fallback = fallback

    def hit(self, key: str, window_start: int, per: int, now: float) -> int:
        name = f"torget:ratelimit:{key}:{window_start}"
        try:
            # MULTI/EXEC: a key is never left counting without its expiry.
            pipe = self.client.pipeline(transaction=True)
            pipe.incr(name)
            pipe.expire(name, per)
            count, _expires = pipe.execute()
        except (redis.RedisError, OSError) as exc:
            # Counted in the database meanwhile (shared by every node too): a Redis
            # outage must neither refuse every sign-in and token request nor lift
            # the limits on guessing passwords. /readyz reports Redis down.
            log.warning(
                "rate limit counted in the database: redis unreachable: %s", type(exc).__name__
            )
            return self.fallback.hit(key, window_start, per, now)
        return int(count)


@functools.cache
def _count_statement(dialect_name: str) -> Any:
    """One statement counts, so two nodes counting at once both count; built once (it runs
    before every limited request) and as text SQLAlchemy can cache (torget.db.cacheable)."""
    table = RateLimitWindow.__table__
    dialect = {"sqlite": sqlite, "postgresql": postgresql}[dialect_name]
    statement = (
        dialect.insert(table)
        .values(key=bindparam("key"), window_start=bindparam("window_start"), count=1)
        .on_conflict_do_update(
            index_elements=[table.c.key, table.c.window_start],
            set_={"count": table.c.count + 1},
        )
        .returning(table.c.count)
    )
    return cacheable(statement, dialect_name)


class DatabaseCounter:
    """Counts in `rate_limit_window`, each hit committed on a connection of its own."""

    def __init__(self) -> None:
        self.last_sweep = -math.inf

    def hit(self, key: str, window_start: int, per: int, now: float) -> int:
        table = RateLimitWindow.__table__
        counting = _count_statement(db.engine.dialect.name)
        with db.engine.begin() as connection:
            parameters = {"key": key, "window_start": window_start}
            count = int(connection.execute(counting, parameters).scalar_one())
            if now - self.last_sweep >= SWEEP_EVERY:
                self.last_sweep = now
                # No window is longer than this (torget.config), so these have ended.
                connection.execute(
                    delete(table).where(table.c.window_start < int(now) - LONGEST_RATE_WINDOW)
                )
        return count


@dataclass
class Limiter:
    """The app's counter, and its clock (tests set one that stands still)."""

    counter: Counter
    clock: Callable[[], float] = time.time


def rule(name: str) -> Rule:
    """The configured rule called `name` ("token", "login", ...; TORGET_RATE_LIMITS)."""
    # Off (None): the default rule, which check() does not count.
    limit, per = (current_app.config["TORGET"].rate_limits or DEFAULT_RATE_LIMITS)[name]
    return Rule(name, limit=limit, per=per)


def check(rule: Rule, key: str) -> None:
    """Count one request for (`rule.name`, `key`); raise RateLimited past the limit.

    Must run before the request's session begins a transaction (see the module).
    """
    if current_app.config["TORGET"].rate_limits is None:
        return
    limiter: Limiter = current_app.extensions[EXTENSION]
    now = limiter.clock()
    window_start = int(now) - int(now) % rule.per
    # Keys hold client-supplied text and personal data (addresses, emails):
    # only their hash is stored, at a fixed length.
    stored_key = f"{rule.name}:{tokens.digest(key)}"
    if limiter.counter.hit(stored_key, window_start, rule.per, now) > rule.limit:
        raise RateLimited(retry_after=max(1, math.ceil(window_start + rule.per - now)))


def client_ip() -> str:
    """The address the request came from (the proxy's, unless ProxyFix is in front)."""
    return request.remote_addr or "unknown"


@dataclass(frozen=True)
class _Limit:
    name: str
    keys: tuple[tuple[str, KeyFunction], ...]
    methods: frozenset[str] | None


def rate_limit(
    name: str, *, methods: Iterable[str] | None = None, **keys: KeyFunction
) -> Callable[[F], F]:
    """Count each request to this view against rule `name`, once per named key.

    `@rate_limit("login", methods=["POST"], ip=client_ip, email=email_of_form)`
    keeps each IP and each email address to the login limit. A request past
    the limit of any key is refused, and is counted for every key.
    """
    limit = _Limit(name, tuple(keys.items()), frozenset(methods) if methods else None)

    def decorate(view: F) -> F:
        setattr(view, _ATTRIBUTE, limit)
        return view

    return decorate


def _limit_request() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    limit: _Limit | None = getattr(view, _ATTRIBUTE, None)
    if limit is None or (limit.methods is not None and request.method not in limit.methods):
        return
    refusals: list[RateLimited] = []
    for kind, read_key in limit.keys:
        value = read_key()
        if value is None:
            continue
        try:
            # The kind keeps an email address from counting as an IP address.
            check(rule(limit.name), f"{kind}:{value}")
        except RateLimited as refused:
            refusals.append(refused)
    if refusals:
        raise max(refusals, key=lambda refused: refused.retry_after)


def init_app(app: Flask) -> None:
    """Count in Redis or the database; call before any hook that reads the database."""
    redis_url = app.config["TORGET"].redis_url
    counter: Counter = (
        RedisCounter(redis_url, fallback=DatabaseCounter()) if redis_url else DatabaseCounter()
    )
    app.extensions[EXTENSION] = Limiter(counter)
    app.before_request(_limit_request)
