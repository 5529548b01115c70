"""Deny by default: every endpoint declares who may reach it."""

from __future__ import annotations

from flask_migrate import upgrade

from tests.conftest import make_app
from torget.access import rule_for
from torget.db import db


def test_every_endpoint_and_method_has_an_access_rule(app):
    missing = [
        f"{rule.endpoint} {method}"
        for rule in app.url_map.iter_rules()
        for method in sorted(rule.methods - {"OPTIONS"})
        if rule_for(app, rule.endpoint, method) is None
    ]
    assert missing == []


def test_an_endpoint_without_a_rule_is_refused(fresh_database, tmp_path):
    app = make_app(fresh_database.new(), tmp_path)

    @app.get("/forgotten", endpoint="forgotten")
    def forgotten() -> str:
        return "data that should not be reachable"

    with app.app_context():
        upgrade()
    response = app.test_client().get("/forgotten")
    assert response.status_code == 403
    assert "should not be reachable" not in response.get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()


def test_pages_send_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers  # the tests' base URL is http


def test_an_https_site_asks_browsers_to_keep_to_https(fresh_database, tmp_path):
    app = make_app(fresh_database.new(), tmp_path, base_url="https://torget.example")

    response = app.test_client().get("/healthz")

    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    with app.app_context():
        db.engine.dispose()


def test_the_session_cookie_is_http_only_and_same_site(client):
    client.get("/login")
    cookie = client.get_cookie("torget_session")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"


def test_the_session_cookie_is_secure_behind_https(fresh_database, tmp_path):
    app = make_app(fresh_database.new(), tmp_path, base_url="https://torget.example")
    client = app.test_client()
    client.get("/healthz")
    response = client.get("/login", base_url="https://torget.example")
    assert "Secure" in response.headers["Set-Cookie"]
