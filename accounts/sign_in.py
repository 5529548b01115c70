"""Signing in and out: password check, back-off, and server-side sessions."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from flask import current_app
from flask_babel import ngettext
from sqlalchemy import select, update

from accounts import passwords
from accounts.models import LoginSession, LoginThrottle, User
from accounts.users import find_by_email
from torget import tokens
from torget.db import db, utcnow
from torget.errors import TooManyRequests

# After the allowed failures, each further one doubles the lock, up to this.
FIRST_LOCK = dt.timedelta(minutes=1)
LONGEST_LOCK = dt.timedelta(minutes=15)
# A session's last-seen time is written at most this often: not every request.
TOUCH_INTERVAL = dt.timedelta(seconds=60)


def _throttle_key(email: str) -> str:
    return tokens.digest("login:" + email.strip().lower())


@dataclass(frozen=True)
class SignIn:
    """A started session: the user, and the secret id for the cookie."""

    user: User
    session_id: str


def _check_not_locked(throttle: LoginThrottle | None, now: dt.datetime) -> None:
    if throttle and throttle.locked_until and throttle.locked_until > now:
        seconds = math.ceil((throttle.locked_until - now).total_seconds())
        minutes = math.ceil(seconds / 60)
        raise TooManyRequests(
            ngettext(
                "Too many failed sign-ins. Try again in %(num)d minute.",
                "Too many failed sign-ins. Try again in %(num)d minutes.",
                minutes,
            ),
            headers={"Retry-After": str(seconds)},
        )


def _record_failure(key: str, throttle: LoginThrottle | None, now: dt.datetime) -> None:
    if throttle is None:
        throttle = LoginThrottle(key_hash=key, failures=0)
        db.session.add(throttle)
    throttle.failures += 1
    throttle.last_failure_at = now
    allowed = current_app.config["TORGET"].login_max_failures
    if throttle.failures >= allowed:
        doublings = throttle.failures - allowed
        lock = min(FIRST_LOCK * (2 ** min(doublings, 10)), LONGEST_LOCK)
        throttle.locked_until = now + lock


def authenticate(email: str, password: str) -> SignIn | None:
    """Check the credentials and start a session; None when they are wrong.

    Raises TooManyRequests while the address is locked after repeated failures
    (for unknown addresses too, so a lock reveals nothing). A failure is
    recorded in this request's transaction; the caller must not roll it back.
    """
    now = utcnow()
    key = _throttle_key(email)
    throttle = db.session.get(LoginThrottle, key)
    _check_not_locked(throttle, now)
    user = find_by_email(email)
    valid = passwords.verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        _record_failure(key, throttle, now)
        return None
    if throttle is not None:
        db.session.delete(throttle)
    user.last_login_at = now
    return SignIn(user=user, session_id=_start_session(user, now))


def start_for_new_user(user: User) -> str:
    """A session for a person who just created their account (they proved the password)."""
    now = utcnow()
    user.last_login_at = now
    return _start_session(user, now)


def _start_session(user: User, now: dt.datetime) -> str:
    config = current_app.config["TORGET"]
    session_id = tokens.new()
    db.session.add(
        LoginSession(
            user=user,
            id_hash=tokens.digest(session_id),
            created_at=now,
            last_seen_at=now,
            expires_at=now + dt.timedelta(hours=config.session_max_hours),
        )
    )
    return session_id


def live_session(login_session_id: int | None) -> LoginSession | None:
    """The sign-in session with this id, unless it was ended or has expired.

    What outlives a page view but not the sign-in (an app's online_access) asks here.
    """
    login = db.session.get(LoginSession, login_session_id) if login_session_id else None
    if login is None or login.ended_at is not None or login.expires_at <= utcnow():
        return None
    return login


def resume(session_id: str) -> User | None:
    """The user of a live session, or None when it ended, idled out or expired."""
    now = utcnow()
    login = db.session.scalar(
        select(LoginSession).where(LoginSession.id_hash == tokens.digest(session_id))
    )
    if login is None or login.ended_at is not None or login.expires_at <= now:
        return None
    idle = dt.timedelta(minutes=current_app.config["TORGET"].session_idle_minutes)
    if login.last_seen_at + idle <= now or not login.user.is_active:
        return None
    if now - login.last_seen_at >= TOUCH_INTERVAL:
        login.last_seen_at = now
    return login.user


def end(session_id: str) -> None:
    """Sign out: the session stops working, wherever its cookie is."""
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.id_hash == tokens.digest(session_id), LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
