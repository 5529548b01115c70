from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from accounts import api_tokens
from accounts.models import ApiToken, Role
from tests.conftest import csrf_token, login
from tests.factories.accounts import PASSWORD, MembershipFactory, UserFactory
from torget.db import db, utcnow


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_me_with_a_token_shows_the_user_and_roles(client):
    membership = MembershipFactory(role=Role.REVIEWER)
    issued = api_tokens.issue(membership.user, name="ci", expires_in_days=1)
    response = client.get("/api/v1/me", headers=_bearer(issued.secret))
    assert response.status_code == 200
    assert response.json["email"] == membership.user.email
    assert response.json["memberships"] == [{"role": "reviewer", "organisation": None}]
    assert "password_hash" not in response.json


def test_me_without_credentials_is_401_with_a_challenge(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_expired_and_malformed_tokens_are_401(client):
    user = UserFactory()
    revoked = api_tokens.issue(user, name="revoked", expires_in_days=1)
    revoked.token.revoked_at = utcnow()
    expired = api_tokens.issue(user, name="expired", expires_in_days=1)
    expired.token.expires_at = utcnow() - dt.timedelta(seconds=1)
    inactive_owner = UserFactory(is_active=False)
    orphan = api_tokens.issue(inactive_owner, name="inactive", expires_in_days=1)
    db.session.flush()
    for header in (
        _bearer(revoked.secret),
        _bearer(expired.secret),
        _bearer(orphan.secret),
        _bearer("torget_pat_" + "A" * 43),
        _bearer(""),
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer " + "x" * 5000},
    ):
        response = client.get("/api/v1/me", headers=header)
        assert response.status_code == 401, header
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_token_cannot_mint_more_tokens(client):
    user = UserFactory()
    issued = api_tokens.issue(user, name="ci", expires_in_days=1)
    response = client.post("/api/v1/tokens", json={"name": "more"}, headers=_bearer(issued.secret))
    assert response.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 1


def test_a_session_creates_lists_and_revokes_tokens(client):
    user = UserFactory()
    login(client, user.email, PASSWORD)
    headers = {"X-CSRFToken": csrf_token(client, "/account/tokens")}
    created = client.post(
        "/api/v1/tokens", json={"name": "deploy", "expires_in_days": 7}, headers=headers
    )
    assert created.status_code == 201
    secret = created.json["token"]
    assert secret.startswith("torget_pat_")
    expires = dt.datetime.fromisoformat(created.json["expires_at"])
    assert dt.timedelta(days=6, hours=23) < expires - utcnow() <= dt.timedelta(days=7)
    listed = client.get("/api/v1/tokens")
    assert [t["name"] for t in listed.json] == ["deploy"]
    assert "token" not in listed.json[0]
    assert client.get("/api/v1/me", headers=_bearer(secret)).status_code == 200
    deleted = client.delete(f"/api/v1/tokens/{created.json['id']}", headers=headers)
    assert deleted.status_code == 204
    assert client.get("/api/v1/me", headers=_bearer(secret)).status_code == 401


def test_a_session_post_without_csrf_header_is_refused(client):
    user = UserFactory()
    login(client, user.email, PASSWORD)
    response = client.post("/api/v1/tokens", json={"name": "deploy"})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_revoking_someone_elses_token_is_404(client):
    owner, other = UserFactory(), UserFactory()
    theirs = api_tokens.issue(owner, name="theirs", expires_in_days=1)
    mine = api_tokens.issue(other, name="mine", expires_in_days=1)
    response = client.delete(f"/api/v1/tokens/{theirs.token.id}", headers=_bearer(mine.secret))
    assert response.status_code == 404
    db.session.refresh(theirs.token)
    assert theirs.token.revoked_at is None
