"""How the authorization server's endpoints answer programs: OAuth errors, no-store JSON, CORS.

Browser apps on other origins call the token, introspection, revocation,
UserInfo, launch and key endpoints (SMART 2.2 asks for CORS); the `oauth`
blueprint adds `cors()` to every answer but the authorize page's.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

# RFC 6749 §5.1: token responses must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def cors(response: Response) -> Response:
    # No credentials: nothing here reads the browser's cookies, so a wildcard is safe.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    return response


def preflight() -> Response:
    response = Response(status=204)
    response.headers["Access-Control-Max-Age"] = "600"
    return response


def oauth_error(error: str, description: str, status_code: int = 400, **headers: str) -> Response:
    """An error as RFC 6749 §5.2 shapes it."""
    body = {"error": error}
    if description:
        body["error_description"] = description
    response = jsonify(body)
    response.status_code = status_code
    response.headers.update({**NO_STORE, **headers})
    return response


def no_store_json(body: dict[str, Any], status_code: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status_code
    response.headers.update(NO_STORE)
    return response
