"""Every error is a clear 4xx: problem+json under /api/, a page elsewhere."""

from __future__ import annotations

import pytest

from accounts.models import ApiToken
from tests.conftest import csrf_token, login
from tests.factories.accounts import PASSWORD, UserFactory
from torget.db import db

PROBLEM = "application/problem+json"


def _signed_in_api_client(client):
    user = UserFactory()
    login(client, user.email, PASSWORD)
    return user, {"X-CSRFToken": csrf_token(client, "/account/tokens")}


def test_unknown_api_path_is_a_problem_document(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    assert response.json["status"] == 404
    assert response.json["title"]


def test_unknown_page_is_a_friendly_page(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "<h1>" in response.get_data(as_text=True)


def test_wrong_method_is_405_with_allow_header(client):
    response = client.put("/api/v1/me", json={})
    assert response.status_code == 405
    assert response.mimetype == PROBLEM
    assert "GET" in response.headers["Allow"]
    page = client.delete("/")
    assert page.status_code == 405
    assert page.mimetype == "text/html"


def test_a_body_over_the_limit_is_413(client):
    big = "x" * (1_048_576 + 1)
    response = client.post("/api/v1/tokens", data=big, content_type="application/json")
    assert response.status_code == 413
    assert response.mimetype == PROBLEM
    page = client.post("/login", data={"email": big, "password": "x"})
    assert page.status_code == 413
    assert page.mimetype == "text/html"


def test_a_body_that_is_not_json_is_415(client):
    _user, headers = _signed_in_api_client(client)
    response = client.post(
        "/api/v1/tokens",
        data="name=ci",
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )
    assert response.status_code == 415
    assert response.mimetype == PROBLEM
    assert db.session.query(ApiToken).count() == 0


@pytest.mark.parametrize(
    "body",
    [b'{"name": "ci"', b"not json at all", b"\xff\xfe\xfa\x00garbage", b'{"name": "\xc3\x28"}'],
    ids=["truncated", "text", "not-utf8", "bad-utf8-in-string"],
)
def test_malformed_json_is_400_and_writes_nothing(client, body):
    _user, headers = _signed_in_api_client(client)
    response = client.post(
        "/api/v1/tokens", data=body, content_type="application/json", headers=headers
    )
    assert response.status_code == 400
    assert response.mimetype == PROBLEM
    assert db.session.query(ApiToken).count() == 0


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"name": "ci", "admin": True}, "#/admin"),
        ({"name": 42}, "#/name"),
        ({"name": ["ci"]}, "#/name"),
        ({"name": ""}, "#/name"),
        ({"name": "x" * 101}, "#/name"),
        ({"name": "ci", "expires_in_days": "soon"}, "#/expires_in_days"),
        ({"name": "ci", "expires_in_days": 366}, "#/expires_in_days"),
        ({"name": "ci", "expires_in_days": 0}, "#/expires_in_days"),
        ({}, "#/name"),
    ],
)
def test_invalid_fields_are_422_with_pointers_and_write_nothing(client, body, pointer):
    _user, headers = _signed_in_api_client(client)
    response = client.post("/api/v1/tokens", json=body, headers=headers)
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    assert pointer in [e["pointer"] for e in response.json["errors"]]
    assert all(e["detail"] for e in response.json["errors"])
    assert db.session.query(ApiToken).count() == 0


def test_json_that_is_not_an_object_is_422(client):
    _user, headers = _signed_in_api_client(client)
    response = client.post("/api/v1/tokens", json=["ci"], headers=headers)
    assert response.status_code == 422
    assert db.session.query(ApiToken).count() == 0


def test_an_unexpected_error_is_a_500_without_internals(fresh_database, tmp_path):
    from flask_migrate import upgrade

    from tests.conftest import make_app
    from torget.access import public

    app = make_app(fresh_database.new(), tmp_path)

    @app.get("/api/v1/test-explode", endpoint="explode_api")
    @app.get("/test-explode", endpoint="explode_page")
    @public
    def explode() -> str:
        raise RuntimeError("secret internals")

    with app.app_context():
        upgrade()
    client = app.test_client()
    api = client.get("/api/v1/test-explode")
    assert api.status_code == 500
    assert api.mimetype == PROBLEM
    assert "secret internals" not in api.get_data(as_text=True)
    page = client.get("/test-explode")
    assert page.status_code == 500
    assert page.mimetype == "text/html"
    assert "secret internals" not in page.get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()


def test_a_query_string_that_is_not_utf8_is_a_400_not_a_500(client) -> None:
    # Raw bytes in the request line reach WSGI as latin-1; Werkzeug would fail decoding them.
    response = client.get("/api/v1/apps", environ_overrides={"QUERY_STRING": "q=\xff"})
    assert response.status_code == 400
    page = client.get("/", environ_overrides={"QUERY_STRING": "q=\xff"})
    assert page.status_code == 400
