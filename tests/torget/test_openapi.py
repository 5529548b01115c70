"""The OpenAPI document is valid and describes every JSON API route; its reference page is local."""

from __future__ import annotations

import re
from html.parser import HTMLParser

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
        # The document itself and the reference page that renders it are not API operations.
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith(
            ("api-docs.", "api-reference.")
        ):
            continue
        path = _openapi_path(rule.rule)
        assert path in documented, rule.rule
        operations = documented[path]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in operations, f"{method} {rule.rule}"


CATALOG_TAGS = {
    "vendors-api",
    "applications-api",
    "releases-api",
    "credentials-api",
    "review-api",
    "criteria-api",
}


def _catalog_operations(document: dict) -> list[tuple[str, str, dict]]:
    return [
        (path, method, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method != "parameters" and set(operation.get("tags", [])) & CATALOG_TAGS
    ]


def test_every_catalog_operation_is_described_with_its_errors(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    operations = _catalog_operations(document)
    assert len(operations) >= 38
    for path, method, operation in operations:
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        assert operation["responses"]["default"] == {
            "$ref": "#/components/responses/DEFAULT_ERROR"
        }, where
        if "{" in path:
            assert "404" in operation["responses"], where


def test_lists_document_their_pages_and_edits_their_preconditions(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    lists = patches = 0
    for path, method, operation in _catalog_operations(document):
        ok = operation["responses"].get("200", {})
        schema = ok.get("content", {}).get("application/json", {}).get("schema", {})
        parameters = {p["name"]: p for p in operation.get("parameters", [])}
        if method == "get" and schema.get("type") == "array":
            lists += 1
            assert parameters["page_size"]["schema"]["maximum"] == 100, path
            assert "page" in parameters, path
            assert ok["headers"]["X-Pagination"]["schema"] == {"type": "string"}, path
        if method == "patch" and not path.startswith("/api/v1/vendors/"):
            patches += 1
            assert parameters["If-Match"]["in"] == "header", path
            assert {"412", "428"} <= set(operation["responses"]), path
            assert "ETag" in ok["headers"], path
    assert lists >= 8
    assert patches == 3  # applications, releases, criteria


def test_uploads_take_multipart_form_data(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    for path, method in (
        ("/api/v1/applications/{slug}/logo", "put"),
        ("/api/v1/applications/{slug}/screenshots", "post"),
        ("/api/v1/releases/{release_id}/evidence", "post"),
    ):
        content = document["paths"][path][method]["requestBody"]["content"]
        assert list(content) == ["multipart/form-data"], path
        assert "415" in document["paths"][path][method]["responses"], path


class _Assets(HTMLParser):
    """The addresses a page loads, and whether any script is inline."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            if values.get("src"):
                self.urls.append(values["src"] or "")
            else:
                self.inline_scripts += 1
        if tag == "link" and values.get("href"):
            self.urls.append(values["href"] or "")
        if tag == "img" and values.get("src"):
            self.urls.append(values["src"] or "")
        if any(name.startswith("on") or name == "style" for name in values):
            self.inline_scripts += 1


def test_the_reference_page_and_its_assets_load_from_this_site_only(
    client: FlaskClient,
) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert 'id="swagger-ui"' in html
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+", html, re.IGNORECASE), "another host"
    assets = _Assets()
    assets.feed(html)
    assert assets.inline_scripts == 0
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in assets.urls
    assert "/api/v1/docs/assets/swagger-ui.css" in assets.urls
    expected = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    for url in assets.urls:
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
        response = client.get(url)
        assert response.status_code == 200, url
        suffix = "." + url.rsplit(".", 1)[-1]
        assert response.mimetype == expected[suffix], url
        response.close()
    init = client.get("/static/api-reference.js").get_data(as_text=True)
    assert "validatorUrl: null" in init  # the default sends the document to swagger.io
    assert "SwaggerUIBundle(" in init


def test_the_reference_serves_only_its_own_files(client: FlaskClient) -> None:
    for name in (
        "index.html",
        "swagger-initializer.js",
        "..%2F__init__.py",
        "oauth2-redirect.html",
    ):
        response = client.get(f"/api/v1/docs/assets/{name}")
        assert response.status_code == 404, name
        assert response.mimetype == "application/problem+json"
