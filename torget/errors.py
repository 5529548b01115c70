"""Domain errors and the one place that turns any error into a response.

Services raise the errors below; nobody else builds an error body.
- under `/api/`: `application/problem+json` (RFC 9457), field errors on 400/422;
- elsewhere: an error page in the visitor's language.
Any error also marks the request for rollback, so it writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, g, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class DomainError(Exception):
    """An error a client can act on. `status` is its HTTP status."""

    status = 400
    title: Any = _l("Bad request")

    def __init__(
        self,
        detail: str | None = None,
        *,
        field: str | None = None,
        fields: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or str(self.title))
        self.detail = detail
        self.fields: dict[str, list[str]] = dict(fields or {})
        if field is not None:
            self.fields.setdefault(field, []).append(detail or str(self.title))
        self.headers = dict(headers or {})


class Invalid(DomainError):
    status = 422
    title = _l("The input is not valid")


class FieldErrors:
    """Collects every field error of an input, so the client hears of all at once.

    errors = FieldErrors()
    errors.check(len(name) <= 100, "name", _("A name is at most 100 characters."))
    errors.raise_if_any()
    """

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def check(self, condition: bool, field: str, message: str) -> bool:
        if not condition:
            self.add(field, message)
        return condition

    def merge(self, error: DomainError, prefix: str = "") -> None:
        for field, messages in error.fields.items():
            for message in messages:
                self.add(prefix + field, message)
        if not error.fields and error.detail:
            self.add(prefix.rstrip("."), error.detail)

    def __bool__(self) -> bool:
        return bool(self.fields)

    def raise_if_any(self) -> None:
        if self.fields:
            raise Invalid(fields=self.fields)


class Unauthorized(DomainError):
    status = 401
    title = _l("Sign-in required")


class Forbidden(DomainError):
    status = 403
    title = _l("Not allowed")


class NotFound(DomainError):
    status = 404
    title = _l("Not found")


class Conflict(DomainError):
    status = 409
    title = _l("Conflict with the current state")


class PreconditionFailed(DomainError):
    status = 412
    title = _l("Changed by someone else")


class Unsupported(DomainError):
    status = 415
    title = _l("Unsupported media type")


class TooManyRequests(DomainError):
    status = 429
    title = _l("Too many attempts")


class Unavailable(DomainError):
    status = 503
    title = _l("Temporarily unavailable")


_HTTP_TITLES: dict[int, Any] = {
    400: _l("Bad request"),
    401: _l("Sign-in required"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict with the current state"),
    412: _l("Changed by someone else"),
    413: _l("The request is too large"),
    415: _l("Unsupported media type"),
    422: _l("The input is not valid"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
    503: _l("Temporarily unavailable"),
}


# Parts of the site that answer errors in a format of their own (the FHIR API:
# OperationOutcome), by path prefix: renderer(status, title, detail, field messages).
ErrorRenderer = Callable[[int, str, str | None, Any], Response]
_renderers: dict[str, ErrorRenderer] = {}


def register_renderer(prefix: str, renderer: ErrorRenderer) -> None:
    _renderers[prefix] = renderer


def _renderer() -> ErrorRenderer | None:
    for prefix, renderer in _renderers.items():
        if request.path.startswith(prefix):
            return renderer
    return None


def wants_problem_json() -> bool:
    # The OAuth endpoints answer programs too; only /oauth/authorize is a page.
    if request.path.startswith("/oauth/") and request.path != "/oauth/authorize":
        return True
    return request.path.startswith("/api/")


def _pointer(path: tuple[str, ...]) -> str:
    # RFC 6901: escape ~ and / inside a token.
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _flatten(messages: Any, path: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """marshmallow's nested messages as RFC 9457 `errors` members."""
    if isinstance(messages, Mapping):
        out: list[dict[str, str]] = []
        for key, value in messages.items():
            # Services name nested fields with dots: "redirect_uris.2".
            out += _flatten(value, (*path, *str(key).split(".")))
        return out
    if isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            return [{"pointer": _pointer(path), "detail": m} for m in messages]
        out = []
        for value in messages:
            out += _flatten(value, path)
        return out
    return [{"pointer": _pointer(path), "detail": str(messages)}]


def render_error(
    error: DomainError | HTTPException,
    *,
    field_messages: Any = None,
) -> Response:
    """The response for an error, as the request's part of the site expects it."""
    if isinstance(error, DomainError):
        status, title, detail = error.status, str(error.title), error.detail
        headers = dict(error.headers)
        field_messages = field_messages or error.fields or None
    else:
        status = error.code or 500
        title = str(_HTTP_TITLES.get(status, error.name))
        detail = error.description if status != 500 else None
        headers = {k: v for k, v in error.get_headers() if k.lower() in {"allow", "retry-after"}}
    renderer = _renderer()
    if renderer is not None:
        response = renderer(status, title, detail, field_messages)
    elif wants_problem_json():
        body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
        if detail:
            body["detail"] = detail
        if field_messages:
            body["errors"] = _flatten(field_messages)
        response = jsonify(body)
        response.mimetype = PROBLEM_JSON
    else:
        html = render_template("errors/error.html", status=status, title=title, detail=detail)
        response = Response(html, mimetype="text/html")
    response.status_code = status
    response.headers.update(headers)
    return response


def _fail() -> None:
    # torget.db commits after the request unless this flag is set.
    g.torget_rollback = True


def _on_domain_error(error: DomainError) -> Response:
    _fail()
    return render_error(error)


def _on_validation_error(error: ValidationError) -> Response:
    _fail()
    return render_error(Invalid(), field_messages=error.messages)


def _on_http_exception(error: HTTPException) -> Response | HTTPException:
    if error.code is None:  # a RoutingException (redirect): not an error
        return error
    _fail()
    # webargs (through flask-smorest) attaches the field messages it collected.
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") if isinstance(data, Mapping) else None
    if isinstance(messages, Mapping) and len(messages) == 1:
        # webargs keys messages by location ("json", "query"); the client knows
        # the fields, not our parser's locations.
        (messages,) = messages.values()
    return render_error(error, field_messages=messages)


def _on_unexpected(error: Exception) -> Response:
    _fail()
    log.exception("unhandled error", exc_info=error)
    return render_error(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, _on_domain_error)
    app.register_error_handler(ValidationError, _on_validation_error)
    app.register_error_handler(HTTPException, _on_http_exception)
    app.register_error_handler(Exception, _on_unexpected)
