"""The OpenAPI document is valid and describes every JSON API route."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def test_document_is_valid_openapi(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)  # raises on any violation of the OpenAPI 3.0 schema
    assert document["info"]["title"] == "Torget API"
    error = document["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert list(error) == ["application/problem+json"]
    token_list = document["paths"]["/api/v1/tokens"]["get"]["responses"]["200"]["content"]
    assert list(token_list) == ["application/json"]


def test_every_api_route_is_documented(app: Flask, client: FlaskClient) -> None:
    documented = client.get("/api/v1/openapi.json").get_json()["paths"]
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("api-docs."):
            continue
        path = _openapi_path(rule.rule)
        assert path in documented, rule.rule
        operations = documented[path]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in operations, f"{method} {rule.rule}"
