"""Schemathesis against the OpenAPI document: no 5xx and no answer the document does not describe.

The demo catalog is loaded (vendors, apps and releases in every state), then
every operation of /api/v1/openapi.json gets generated requests, valid and
invalid, with the API token of the demo vendor member and, in a second run,
of the demo reviewer. Path parameters are either real ones from the demo data
(so requests reach the services) or generated (so they reach the 404s).
Bounded and derandomized: the same requests every run, a minute or so per database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts import api_tokens, users
from catalog import applications, credentials, criteria, releases
from catalog.models import Environment, ReleaseState

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    status_code_conformance,
    response_headers_conformance,
]
EXAMPLES_PER_OPERATION = 12


def _isolated(app: Flask) -> Callable[..., Iterable[bytes]]:
    """The app as a server runs it: each request in an app context of its own.

    The test holds an app context (its database transaction); without this,
    every request would share its `g` (the user, the rollback flag).
    """

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with app.app_context():
            response = app(environ, start_response)
            try:
                return list(response)  # read while the context (and its session) lives
            finally:
                getattr(response, "close", lambda: None)()

    return wsgi


def _known_parameters(email: str) -> dict[str, object]:
    """Real path parameters from the demo data: NEWS2 Varsel has releases in most states.

    The vendor works on the draft, the reviewer on the submitted release.
    """
    news2 = applications.get_by_slug("news2-varsel")
    by_state = {r.state: r for r in releases.for_application(news2)}
    release = by_state[ReleaseState.DRAFT if email.startswith("vendor") else ReleaseState.SUBMITTED]
    evidence = [e for r in by_state.values() for e in r.evidence]
    production = credentials.find_client(news2, Environment.PRODUCTION)
    assert production is not None
    return {
        "slug": news2.slug,
        "vendors_slug": news2.vendor.slug,
        "tenants_slug": "oslo",
        "release_id": release.id,
        "evidence_id": evidence[0].id,
        "screenshot_id": news2.screenshots[0].id if news2.screenshots else 1,
        "client_id": production.client_id,
        "secret_id": production.secrets[0].id if production.secrets else 1,
        "code": criteria.active()[0].code,
        "invitation_id": 1,
        "token_id": 1,
    }


def _path_parameters(path: str, known: dict[str, object]) -> dict[str, object]:
    """Known values for the operation's path parameters; `slug` names a vendor, app or tenant."""
    names = {part.strip("{}") for part in path.split("/") if part.startswith("{")}
    values = {name: known[name] for name in names if name in known}
    if "slug" in names:
        kind = path.split("/")[3]  # /api/v1/<kind>/{slug}...
        values["slug"] = known.get(f"{kind}_slug", known["slug"])
    return values


def _exercise(operation: Any, known: dict[str, object], headers: dict[str, str]) -> list[int]:
    """Send one operation's generated requests; the statuses it got back."""
    fixed = _path_parameters(operation.path, known)
    strategies = [
        operation.as_strategy(path_parameters=fixed),
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=fixed),
        operation.as_strategy(),
    ]
    if operation.method == "patch" and "If-Match" in str(operation.definition.raw):
        # A generated If-Match is stale (412); "*" lets the edit reach the service.
        strategies.append(operation.as_strategy(path_parameters=fixed, headers={"If-Match": "*"}))
    statuses: list[int] = []

    @given(case=st.one_of(strategies))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses.append(response.status_code)

    call()
    return statuses


@pytest.mark.parametrize("email", ["vendor@torget.example", "reviewer@torget.example"])
def test_the_api_answers_every_request_as_documented(app, runner, email) -> None:
    loaded = runner.invoke(args=["demo", "load"])
    assert loaded.exit_code == 0, loaded.output
    user = users.get_by_email(email)
    headers = {
        "Authorization": f"Bearer {api_tokens.issue(user, name='fuzz', expires_in_days=1).secret}"
    }
    known = _known_parameters(email)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _isolated(app))

    # Revoking a token could revoke the run's own: every later request would be a 401.
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().label != "DELETE /api/v1/tokens/{token_id}"
    ]
    assert len(operations) > 40
    statuses = {operation.label: _exercise(operation, known, headers) for operation in operations}
    assert set(statuses) == {operation.label for operation in operations}
    # The token worked throughout, and the requests reached the services, not only the gates.
    assert all(401 not in codes for codes in statuses.values()), statuses
    answered = [label for label, codes in statuses.items() if any(c < 300 for c in codes)]
    assert len(answered) >= len(operations) // 3, statuses
