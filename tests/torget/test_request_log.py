"""One structured line per request, and never a secret in any line."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import fields

import pytest

from accounts import api_tokens
from tests.conftest import csrf_token
from tests.factories.accounts import PASSWORD, UserFactory
from torget.app import create_app
from torget.config import Config
from torget.request_log import redact


@pytest.fixture
def log_lines():
    """What Torget's own log handler writes, as the operator would read it."""
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_torget", False))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        handler.setStream(previous)


def test_each_request_is_one_line_with_a_request_id(client, log_lines):
    response = client.get("/healthz", headers={"X-Request-ID": "req-12345678"})
    assert response.headers["X-Request-ID"] == "req-12345678"
    (line,) = [entry for entry in log_lines() if entry["logger"] == "torget.request"]
    assert line["request_id"] == "req-12345678"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/healthz", 200)
    assert line["endpoint"] == "operations.healthz"
    assert line["duration_ms"] >= 0


def test_an_unusable_request_id_is_replaced(client):
    response = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"})
    assert response.headers["X-Request-ID"] != "bad id <script>"
    assert len(response.headers["X-Request-ID"]) == 32


def test_passwords_tokens_and_authorization_headers_never_reach_the_log(client, log_lines):
    password = "Hunter2-Very-Secret-Password"
    user = UserFactory()
    # a failed and a successful sign-in, both with secrets in the form
    client.post(
        "/login",
        data={"email": user.email, "password": password, "csrf_token": csrf_token(client)},
    )
    client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    issued = api_tokens.issue(user, name="ci", expires_in_days=1)
    client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued.secret}"})
    client.get("/api/v1/me", headers={"Authorization": "Bearer torget_pat_notavalidtoken"})
    client.get("/api/v1/me", headers={"Authorization": "Basic dXNlcjpzM2NyZXQ="})
    client.get("/?code=authcode-secret&access_token=query-secret&state=x")
    logging.getLogger("torget.test").warning("leaked %s", f"Bearer {issued.secret}")

    written = json.dumps(log_lines())
    for secret in (
        password,
        PASSWORD,
        issued.secret,
        issued.secret.removeprefix("torget_pat_"),
        "torget_pat_notavalidtoken",
        "dXNlcjpzM2NyZXQ=",
        "authcode-secret",
        "query-secret",
    ):
        assert secret not in written
    assert written.count('"logger": "torget.request"') == 8  # 2 pages, 2 sign-ins, 4 API


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        ("password=hunter2&x=1", "hunter2"),
        ("client_secret=s3cr3t", "s3cr3t"),
        ("refresh_token=rt-1 code=c-1", "rt-1"),
        ("token torget_pat_AbC-123_x", "AbC-123_x"),
    ],
)
def test_redact_hides_secret_shapes(text, hidden):
    assert hidden not in redact(text)


@pytest.mark.parametrize(
    ("hops", "seen"),
    [
        (0, "10.0.0.2"),  # no proxy trusted: the address the connection came from
        (1, "198.51.100.9"),  # one proxy: the entry it appended, not the one the client sent
        (2, "203.0.113.7"),
    ],
)
def test_the_client_address_is_read_behind_as_many_proxies_as_trusted(app, log_lines, hops, seen):
    settings = {f.name: getattr(app.config["TORGET"], f.name) for f in fields(Config)}
    behind = create_app(overrides={**settings, "proxy_hops": hops})

    behind.test_client().get(
        "/healthz",
        headers={"X-Forwarded-For": "203.0.113.7, 198.51.100.9"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )

    (line,) = [entry for entry in log_lines() if entry["logger"] == "torget.request"]
    assert line["remote_addr"] == seen
