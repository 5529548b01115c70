"""Upstream mode against a platform that answers badly: a 502 that says so, never a 500.

The well-behaved platform (a second Torget) is tests/smart/test_upstream.py.
A real server cannot be made to answer HTML, a JSON array or a Bundle whose
entries are strings, so here a small HTTP server on a local port answers
each request with what the test put there for its path.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from flask import Flask
from flask_babel import force_locale, gettext

from auth import issuing, keys, status
from gateway import upstream
from gateway.platform_token import BackendServicesToken
from gateway.upstream import UpstreamBackend
from tests.auth.smart import smart_app
from tests.conftest import make_app
from tests.factories.marketplace import TenantFactory
from tests.gateway.conftest import backend_in, bearer, issue_for
from torget.db import db

TENANT = "upstreamby"
SCOPE = "user/Patient.rs user/Observation.rs"


class Platform(ThreadingHTTPServer):
    """Answers GET or POST `path` with `answers[path]`: (status, body bytes, content type)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers: dict[str, tuple[int, bytes, str]] = {}

    @property
    def base(self) -> str:
        return f"{self.origin}/fhir/{{tenant}}"

    @property
    def origin(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: Platform

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.do_GET()

    def do_GET(self) -> None:
        path = self.path.split("?")[0].removeprefix(f"/fhir/{TENANT}/")
        status, body, content_type = self.server.answers.get(path, (404, b"", "text/plain"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the test's output is the assertions'


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    server = Platform()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def app(
    migrated_database_url: str, tmp_path_factory: pytest.TempPathFactory, platform: Platform
) -> Iterator[Flask]:
    """The gateway under test, in upstream mode against the badly behaved platform."""
    gateway = make_app(
        migrated_database_url,
        Path(tmp_path_factory.mktemp("upstream-answers")),
        fhir_upstream_url=platform.base,
        fhir_upstream_token="platform-credential",
    )
    yield gateway
    with gateway.app_context():
        db.engine.dispose()


@pytest.fixture
def headers(db_session: None) -> Iterator[dict[str, str]]:
    """A clinician app's token in the municipality (the signing keys made for the test)."""
    keys.ensure_current()
    issuing.forget_signer()
    status.forget_keys()
    tenant = TenantFactory(organisation__slug=TENANT)
    access = issue_for(smart_app(registered=SCOPE, tenant=tenant), SCOPE)
    yield bearer(access)
    issuing.forget_signer()
    status.forget_keys()


def _json(document: Any) -> bytes:
    return json.dumps(document).encode()


PATIENT = {"resourceType": "Patient", "id": "p1", "name": [{"family": "Nordmann"}]}


def _bundle(**members: Any) -> bytes:
    return _json({"resourceType": "Bundle", "type": "searchset", **members})


REFUSED = "The platform's FHIR server refused or failed the request."
MALFORMED = "The platform's FHIR server answered with a malformed Bundle."
FHIR_JSON = "application/fhir+json"


@pytest.mark.parametrize(
    ("path", "answer", "message"),
    [
        ("Patient/p1", (200, b"<html>Gateway Timeout</html>", "text/html"), REFUSED),
        ("Patient/p1", (200, b"[1, 2, 3]", FHIR_JSON), REFUSED),
        ("Patient/p1", (200, b'"Patient"', FHIR_JSON), REFUSED),
        ("Patient/p1", (200, b'{"resourceType": "Patient", "id": ', FHIR_JSON), REFUSED),
        ("Patient/p1", (401, b"", "text/plain"), REFUSED),  # the platform refuses the gateway
        (
            "Patient/p1",
            (503, _json({"resourceType": "OperationOutcome", "issue": 7}), FHIR_JSON),
            REFUSED,
        ),
        ("Observation", (200, _bundle(entry="not a list"), FHIR_JSON), MALFORMED),
        ("Observation", (200, _bundle(entry=[1, "two"]), FHIR_JSON), MALFORMED),
        ("Observation", (200, _bundle(entry=[{"resource": [PATIENT]}]), FHIR_JSON), MALFORMED),
        ("Observation", (200, _bundle(entry=[{"search": "match"}]), FHIR_JSON), MALFORMED),
        ("Observation", (200, _bundle(link=["next"]), FHIR_JSON), MALFORMED),
        (
            "Observation",
            (200, _bundle(link=[{"relation": "next", "url": "http://[broken"}]), FHIR_JSON),
            "The platform's FHIR server answered with a malformed URL.",
        ),
        (
            "Observation",
            (200, _json(PATIENT), FHIR_JSON),
            "The platform's FHIR server did not answer with a Bundle.",
        ),
        ("Patient/p1/_history", (200, _bundle(entry=[[PATIENT]]), FHIR_JSON), MALFORMED),
    ],
    ids=[
        "html",
        "a JSON array",
        "a JSON string",
        "cut-off JSON",
        "401 to the gateway",
        "503 with a broken outcome",
        "entry not a list",
        "entries not objects",
        "resource not an object",
        "search not an object",
        "links not objects",
        "next link not a URL",
        "search answered with no Bundle",
        "history entries not objects",
    ],
)
def test_a_malformed_answer_is_a_502_operation_outcome(
    app, client, platform: Platform, headers: dict[str, str], path: str, answer: tuple, message
) -> None:
    platform.answers = {path: answer}

    response = client.get(f"/fhir/{TENANT}/{path}", headers=headers)

    assert response.status_code == 502, response.get_data(as_text=True)
    assert _issue(response) == ("exception", _in_bokmaal(app, message))


def _issue(response: Any) -> tuple[str, str]:
    body = response.get_json(force=True)
    assert body["resourceType"] == "OperationOutcome"
    (issue,) = body["issue"]
    return issue["code"], issue["diagnostics"]


def _in_bokmaal(app: Flask, message: str) -> str:
    """`message` as the gateway says it to an API client (in the default language, bokmål)."""
    with app.test_request_context(), force_locale("nb"):
        return gettext(message)


def test_an_answer_beyond_the_limit_is_a_502(
    app, client, platform: Platform, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upstream, "MAX_ANSWER_BYTES", 1000)  # 20 MB in earnest
    padded = {**PATIENT, "text": {"status": "generated", "div": "x" * 2000}}
    platform.answers = {"Patient/p1": (200, _json(padded), "application/fhir+json")}

    response = client.get(f"/fhir/{TENANT}/Patient/p1", headers=headers)

    assert response.status_code == 502
    assert _issue(response) == (
        "exception",
        _in_bokmaal(app, "The platform's FHIR server answered too much."),
    )


def test_a_resource_with_a_malformed_meta_is_served_without_it(
    client, platform: Platform, headers: dict[str, str]
) -> None:
    """The platform's resource is served; only the version it cannot name is a default."""
    odd = {**PATIENT, "meta": ["versionId", "3"]}
    platform.answers = {"Patient/p1": (200, _json(odd), "application/fhir+json")}

    response = client.get(f"/fhir/{TENANT}/Patient/p1", headers=headers)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json(force=True)["name"] == [{"family": "Nordmann"}]
    assert response.headers["ETag"] == 'W/"1"'


# --- the gateway's own token at the platform, refused or malformed -------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        (200, b"<html>Log in</html>", "text/html"),
        (200, _json({"token_type": "Bearer", "expires_in": 300}), "application/json"),
        (200, _json({"access_token": 7, "expires_in": 300}), "application/json"),
        (200, _json({"access_token": "t", "expires_in": "soon"}), "application/json"),
        (400, _json({"error": "invalid_client"}), "application/json"),
        (None, b"", ""),  # nobody answers at the token URL
    ],
    ids=["html", "no token", "token not text", "lifetime not a number", "refused", "down"],
)
def test_a_platform_that_gives_the_gateway_no_usable_token_is_a_502(
    app, client, platform: Platform, headers: dict[str, str], answer: tuple
) -> None:
    status, body, content_type = answer
    token_url = f"{platform.origin}/oauth/token"
    if status is None:
        token_url = f"http://127.0.0.1:{_closed_port()}/oauth/token"
    platform.answers = {
        "/oauth/token": (status or 404, body, content_type),
        "Patient/p1": (200, _json(PATIENT), FHIR_JSON),
    }
    key = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    credential = BackendServicesToken(
        token_url, "gateway", key.decode(), "k1", "system/*.rs", timeout=5
    )
    with backend_in(app, UpstreamBackend(platform.base, credential, timeout=5)):
        response = client.get(f"/fhir/{TENANT}/Patient/p1", headers=headers)

    assert response.status_code == 502, response.get_data(as_text=True)
    assert _issue(response) == (
        "exception",
        _in_bokmaal(app, "The gateway could not get a token from the platform."),
    )
    assert "Nordmann" not in response.get_data(as_text=True)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
