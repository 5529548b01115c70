"""The JSON API's shell: flask-smorest with our errors and request rules.

Packages define `flask_smorest.Blueprint`s; the factory registers them on
the `Api` that `init_app` returns (one per application), which serves the
OpenAPI document at `/api/v1/openapi.json`.
Errors are rendered by `torget.errors` as `application/problem+json`.
"""

from __future__ import annotations

from flask import Flask, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Api as SmorestApi
from marshmallow import Schema, fields

from torget.errors import DomainError

JSON_MEDIA_TYPES = {"application/json", "application/merge-patch+json"}


class UnsupportedMediaType(DomainError):
    status = 415
    title = _l("Unsupported media type")


class ProblemErrorSchema(Schema):
    """RFC 9457 field error: where, and what is wrong."""

    pointer = fields.String(metadata={"example": "#/email"})
    detail = fields.String()


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every API error is answered."""

    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.List(fields.Nested(ProblemErrorSchema))


class Api(SmorestApi):
    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        # Errors are documented as they are sent: application/problem+json.
        content_type, self.DEFAULT_RESPONSE_CONTENT_TYPE = (
            self.DEFAULT_RESPONSE_CONTENT_TYPE,
            "application/problem+json",
        )
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = content_type

    def _register_error_handlers(self) -> None:
        # torget.errors answers every error app-wide; smorest's own JSON
        # handler would replace it for all HTTP errors, pages included.
        return None


def _require_json_body() -> None:
    """415 for a body that is not JSON, before any parsing happens."""
    if not request.path.startswith("/api/") or request.method not in {"POST", "PUT", "PATCH"}:
        return
    if request.routing_exception is not None:  # the 404/405 answers first
        return
    if request.content_length == 0 or (
        request.content_length is None and not request.headers.get("Transfer-Encoding")
    ):
        return
    if request.mimetype not in JSON_MEDIA_TYPES:
        raise UnsupportedMediaType(
            _("Send the body as application/json, not %(type)s.", type=request.mimetype or "—")
        )


def init_app(app: Flask) -> Api:
    app.config.update(
        API_TITLE="Torget API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    api = Api()
    api.init_app(
        app,
        spec_kwargs={
            "info": {
                "description": "Torget: app marketplace and SMART-on-FHIR launch service.",
            },
            "components": {
                "securitySchemes": {
                    "apiToken": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "A personal API token (torget_pat_...).",
                    },
                    "session": {"type": "apiKey", "in": "cookie", "name": "session"},
                }
            },
            "security": [{"apiToken": []}, {"session": []}],
        },
    )
    app.before_request(_require_json_body)
    return api
