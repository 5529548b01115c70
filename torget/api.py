"""The JSON API's shell: flask-smorest with our errors and request rules.

Packages define `flask_smorest.Blueprint`s; the factory registers them on
the `Api` that `init_app` returns (one per application), which serves the
OpenAPI document at `/api/v1/openapi.json`.
Errors are rendered by `torget.errors` as `application/problem+json`.
The rendered reference (Swagger UI) is at `/api/v1/docs`, from local files only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import swagger_ui_bundle
from flask import Blueprint, Flask, current_app, render_template, request, send_from_directory
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Api as SmorestApi
from marshmallow import Schema, fields
from werkzeug.http import parse_etags

from torget.access import public
from torget.errors import DomainError, NotFound

F = TypeVar("F", bound=Callable[..., Any])

JSON_MEDIA_TYPES = frozenset({"application/json", "application/merge-patch+json"})
_MEDIA_TYPES_ATTRIBUTE = "_torget_media_types"


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


class PreconditionRequired(DomainError):
    status = 428
    title = _l("Precondition required")


# --- conditional changes: ETag out, If-Match in -------------------------------------

ETAG = {
    "ETag": {
        "description": "The version of what was returned: send it as If-Match to change it.",
        "schema": {"type": "string"},
    }
}


class IfMatchSchema(Schema):
    if_match = fields.String(
        data_key="If-Match",
        metadata={
            "description": "The ETag of your last GET (or * for any version). Required: "
            "without it the answer is 428; when it is stale, 412."
        },
    )


class Versioned(Protocol):
    """A row with optimistic locking: its `version_id` is its ETag."""

    version_id: int


def etag(row: Versioned) -> dict[str, str]:
    return {"ETag": f'"{row.version_id}"'}


def expected_version(headers: dict[str, Any], current: int) -> int | None:
    """The version the client means to change, from If-Match (RFC 9110 §13.1.1).

    None for `*` (any version). A list of tags matches when any of them is the
    current one; a tag that matches nothing comes out as a version no row has,
    so the service answers 412.
    """
    value = headers.get("if_match")
    if not value:
        raise PreconditionRequired(
            _("Send If-Match with the ETag of your last GET, so no one's change is lost.")
        )
    tags = parse_etags(value)
    if tags.star_tag:
        return None
    return current if tags.contains(str(current)) else 0


def accepts(*media_types: str) -> Callable[[F], F]:
    """Let this endpoint take bodies of `media_types` instead of JSON.

    Upload endpoints take `multipart/form-data` and nothing else; every other
    API endpoint takes JSON only. Like `body_limit`, it must be known before
    the view runs (the CSRF check reads a form body), so it is a view attribute.
    """

    def decorate(view: F) -> F:
        setattr(view, _MEDIA_TYPES_ATTRIBUTE, frozenset(media_types))
        return view

    return decorate


def _accepted_media_types() -> frozenset[str]:
    view = current_app.view_functions.get(request.endpoint or "")
    accepted = getattr(view, _MEDIA_TYPES_ATTRIBUTE, None)
    if accepted is None and view is not None and hasattr(view, "view_class"):
        # flask-smorest MethodViews: the media types sit on the method.
        handler = getattr(view.view_class, request.method.lower(), None)
        accepted = getattr(handler, _MEDIA_TYPES_ATTRIBUTE, None)
    return accepted or JSON_MEDIA_TYPES


def _require_json_body() -> None:
    """415 for a body of a type the endpoint does not take, before any parsing happens."""
    if not request.path.startswith("/api/") or request.method not in {"POST", "PUT", "PATCH"}:
        return
    if request.routing_exception is not None:  # the 404/405 answers first
        return
    if request.content_length == 0 or (
        request.content_length is None and not request.headers.get("Transfer-Encoding")
    ):
        return
    accepted = _accepted_media_types()
    if request.mimetype in accepted:
        return
    sent = request.mimetype or "—"
    if accepted == JSON_MEDIA_TYPES:
        raise UnsupportedMediaType(_("Send the body as application/json, not %(type)s.", type=sent))
    raise UnsupportedMediaType(
        _(
            "Send the body as %(expected)s, not %(type)s.",
            expected=" or ".join(sorted(accepted)),
            type=sent,
        )
    )


reference = Blueprint("api-reference", __name__, url_prefix="/api/v1/docs")

# The Swagger UI files the reference page loads, served from the installed
# swagger-ui-bundle package: the page needs no other site (and the CSP allows none).
SWAGGER_UI_FILES = frozenset({"swagger-ui.css", "swagger-ui-bundle.js"})


@reference.get("")
@public
def reference_page() -> ResponseReturnValue:
    """The API reference, rendered by Swagger UI from the OpenAPI document."""
    return render_template("api/reference.html")


@reference.get("/assets/<name>")
@public
def reference_asset(name: str) -> ResponseReturnValue:
    if name not in SWAGGER_UI_FILES:
        raise NotFound()
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, name, max_age=86_400)


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
    app.register_blueprint(reference)
    return api
