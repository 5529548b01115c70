from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from accounts import sign_in
from accounts.models import LoginSession, LoginThrottle
from tests.conftest import csrf_token, login
from tests.factories.accounts import PASSWORD, UserFactory
from torget.db import db, utcnow
from torget.errors import TooManyRequests


def test_the_right_password_starts_a_server_side_session(app, db_session):
    user = UserFactory()
    with app.test_request_context():
        result = sign_in.authenticate(user.email.upper(), PASSWORD)
    assert result is not None
    assert result.user == user
    stored = db.session.scalar(sa.select(LoginSession))
    assert stored.id_hash != result.session_id  # only a hash is kept
    assert user.last_login_at is not None


def test_a_wrong_password_or_unknown_email_is_none(app, db_session):
    user = UserFactory()
    with app.test_request_context():
        assert sign_in.authenticate(user.email, "wrong password!") is None
        assert sign_in.authenticate("nobody@example.no", PASSWORD) is None
        assert sign_in.authenticate("not an email", PASSWORD) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)) == 0


def test_an_inactive_user_cannot_sign_in(app, db_session):
    user = UserFactory(is_active=False)
    with app.test_request_context():
        assert sign_in.authenticate(user.email, PASSWORD) is None


@pytest.mark.parametrize("known", [True, False], ids=["known-email", "unknown-email"])
def test_repeated_failures_lock_the_address_and_the_lock_doubles(app, db_session, known):
    email = UserFactory().email if known else "ghost@example.no"
    with app.test_request_context():
        for _ in range(5):
            assert sign_in.authenticate(email, "wrong password!") is None
        with pytest.raises(TooManyRequests) as locked:
            sign_in.authenticate(email, PASSWORD)
        assert int(locked.value.headers["Retry-After"]) in range(55, 61)
        throttle = db.session.scalar(sa.select(LoginThrottle))
        # After the lock runs out, one more failure locks twice as long.
        throttle.locked_until = utcnow() - dt.timedelta(seconds=1)
        assert sign_in.authenticate(email, "wrong password!") is None
        with pytest.raises(TooManyRequests) as relocked:
            sign_in.authenticate(email, PASSWORD)
        assert int(relocked.value.headers["Retry-After"]) in range(115, 121)


def test_a_successful_sign_in_clears_the_failures(app, db_session):
    user = UserFactory()
    with app.test_request_context():
        for _ in range(4):
            sign_in.authenticate(user.email, "wrong password!")
        assert sign_in.authenticate(user.email, PASSWORD) is not None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginThrottle)) == 0
        for _ in range(4):
            sign_in.authenticate(user.email, "wrong password!")
        assert sign_in.authenticate(user.email, PASSWORD) is not None


def test_failures_are_kept_although_the_sign_in_page_answers_401(client):
    user = UserFactory()
    for _ in range(5):
        response = client.post(
            "/login",
            data={"email": user.email, "password": "wrong!", "csrf_token": csrf_token(client)},
        )
        assert response.status_code == 401
    locked = login(client, user.email, PASSWORD)
    assert locked.status_code == 429
    assert "Retry-After" in locked.headers


def _session_row() -> LoginSession:
    return db.session.scalar(sa.select(LoginSession))


def test_signing_out_ends_the_session_even_for_a_copied_cookie(client, app):
    user = UserFactory()
    login(client, user.email, PASSWORD)
    copied = client.get_cookie("torget_session").value
    assert client.get("/account").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    assert _session_row().ended_at is not None
    thief = app.test_client()
    thief.set_cookie("torget_session", copied)
    response = thief.get("/account")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "expire",
    [
        lambda row: setattr(row, "last_seen_at", utcnow() - dt.timedelta(minutes=61)),
        lambda row: setattr(row, "expires_at", utcnow() - dt.timedelta(seconds=1)),
    ],
    ids=["idle", "absolute"],
)
def test_an_expired_session_asks_to_sign_in_again(client, expire):
    user = UserFactory()
    login(client, user.email, PASSWORD)
    expire(_session_row())
    db.session.flush()
    response = client.get("/account")
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert 'class="flash flash-info"' in page.get_data(as_text=True)
    api = client.get("/api/v1/me")
    assert api.status_code == 401
