from __future__ import annotations

import sqlalchemy as sa

from accounts.models import ApiToken, LoginSession, LoginThrottle
from tests.conftest import csrf_token, login
from tests.factories.accounts import PASSWORD, UserFactory
from torget.db import db


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_sign_in_goes_to_my_page_or_back_where_i_was(client):
    user = UserFactory()
    response = login(client, user.email, PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    gate = client.get("/account/tokens")
    assert gate.status_code == 302
    next_url = gate.headers["Location"]
    assert "next=/account/tokens" in next_url.replace("%2F", "/")
    page = client.get(next_url).get_data(as_text=True)
    assert 'value="/account/tokens"' in page
    response = client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": "/account/tokens",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.headers["Location"] == "/account/tokens"


def test_sign_in_never_sends_me_off_site(client):
    user = UserFactory()
    response = client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": "//evil.example/x",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.headers["Location"] == "/account"


def test_sign_in_without_csrf_token_is_refused_and_starts_nothing(client):
    user = UserFactory()
    client.get("/login")
    for token in (None, "forged-token"):
        data = {"email": user.email, "password": PASSWORD}
        if token:
            data["csrf_token"] = token
        response = client.post("/login", data=data)
        assert response.status_code == 400
    assert _count(LoginSession) == 0
    assert client.get("/account").status_code == 302


def test_a_wrong_password_shows_the_form_again_with_the_email_kept(client):
    user = UserFactory()
    response = client.post(
        "/login",
        data={"email": user.email, "password": "wrong!", "csrf_token": csrf_token(client)},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert 'role="alert"' in page
    assert f'value="{user.email}"' in page
    assert _count(LoginThrottle) == 1


def test_empty_and_oversized_fields_are_422_and_write_nothing(client):
    for data in ({"email": "", "password": ""}, {"email": "a@b.no", "password": "x" * 300}):
        response = client.post("/login", data={**data, "csrf_token": csrf_token(client)})
        assert response.status_code == 422
    assert _count(LoginThrottle) == 0


def test_non_utf8_form_bytes_are_a_clear_answer(client):
    token = csrf_token(client)
    body = b"email=%ff%fe%fa&password=%c3%28&csrf_token=" + token.encode()
    response = client.post("/login", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code in (401, 422)


def test_names_with_markup_are_escaped_on_every_page(client):
    user = UserFactory(display_name='<script>alert("x")</script>')
    login(client, user.email, PASSWORD)
    page = client.get("/account").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;" in page
    client.post(
        "/account/tokens",
        data={
            "name": "<img src=x onerror=alert(1)>",
            "expires_in_days": "30",
            "csrf_token": csrf_token(client, "/account/tokens"),
        },
    )
    tokens_page = client.get("/account/tokens").get_data(as_text=True)
    assert "<img src=x" not in tokens_page
    assert "&lt;img src=x" in tokens_page


def test_create_and_revoke_a_token_in_the_page(client):
    user = UserFactory()
    login(client, user.email, PASSWORD)
    response = client.post(
        "/account/tokens",
        data={
            "name": "ci",
            "expires_in_days": "30",
            "csrf_token": csrf_token(client, "/account/tokens"),
        },
    )
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    secret = page.split('id="new-token">')[1].split("<")[0]
    assert secret.startswith("torget_pat_")
    # shown once: the list afterwards has only the prefix
    assert secret not in client.get("/account/tokens").get_data(as_text=True)
    token = db.session.scalar(sa.select(ApiToken))
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    )
    revoked = client.post(
        f"/account/tokens/{token.id}/revoke",
        data={"csrf_token": csrf_token(client, "/account/tokens")},
    )
    assert revoked.status_code == 303
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    )


def test_a_token_form_with_bad_values_is_422_and_writes_nothing(client):
    user = UserFactory()
    login(client, user.email, PASSWORD)
    for days in ("0", "366", "ten", ""):
        response = client.post(
            "/account/tokens",
            data={
                "name": "ci",
                "expires_in_days": days,
                "csrf_token": csrf_token(client, "/account/tokens"),
            },
        )
        assert response.status_code == 422
    assert _count(ApiToken) == 0


def test_someone_elses_token_cannot_be_revoked(client):
    owner, other = UserFactory(), UserFactory()
    login(client, other.email, PASSWORD)
    from accounts import api_tokens

    issued = api_tokens.issue(owner, name="theirs", expires_in_days=5)
    response = client.post(
        f"/account/tokens/{issued.token.id}/revoke",
        data={"csrf_token": csrf_token(client, "/account/tokens")},
    )
    assert response.status_code == 404
    db.session.refresh(issued.token)
    assert issued.token.revoked_at is None
