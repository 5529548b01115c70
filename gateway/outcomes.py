"""FHIR's error answer: an OperationOutcome with the HTTP status, as application/fhir+json.

Registered with the shell (torget.errors.register_renderer) for every path
under /fhir/, so a refusal raised anywhere in a FHIR request, a 404 of the
router included, reaches the client in the format it parses.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response

FHIR_JSON = "application/fhir+json"

# The IssueType code (http://hl7.org/fhir/issue-type) that fits each status.
ISSUE_CODE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "processing",
    429: "throttled",
    503: "transient",
}


def issue(code: str, diagnostics: str, *, expression: str | None = None,
          severity: str = "error") -> dict[str, Any]:  # fmt: skip
    found: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        found["expression"] = [expression]
    return found


def outcome(issues: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": issues}


def fhir_response(body: dict[str, Any], status: int = 200, **headers: str) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=FHIR_JSON)
    response.headers.update(headers)
    return response


def issues_of(status: int, title: str, detail: str | None, fields: Any) -> list[dict[str, Any]]:
    """The issues of an error: one per field message (naming its element), else the detail."""
    code = ISSUE_CODE.get(status, "exception")
    issues = []
    if isinstance(fields, dict):
        for name, messages in fields.items():
            for message in messages if isinstance(messages, list) else [messages]:
                issues.append(issue(code, str(message), expression=str(name)))
    return issues or [issue(code, detail or title)]


def render(status: int, title: str, detail: str | None, fields: Any) -> Response:
    """torget.errors' renderer for /fhir/: an OperationOutcome with the status."""
    return fhir_response(outcome(issues_of(status, title, detail, fields)), status)
