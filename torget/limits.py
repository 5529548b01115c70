"""Request limits: per-endpoint body limits for the few routes that take uploads, and a
query string that must be UTF-8.

Every request is held to `TORGET_MAX_BODY_BYTES` (1 MiB by default). An upload
route raises its own limit with `@body_limit(...)`. The limit is applied before
any other hook reads the body (the CSRF check reads the form), so it must be
known before the view runs: hence a view attribute and a hook, not a line in the
view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

F = TypeVar("F", bound=Callable[..., Any])
_ATTRIBUTE = "_torget_max_body_bytes"


def body_limit(max_bytes: int) -> Callable[[F], F]:
    """Let this endpoint accept bodies up to `max_bytes` (files spool to disk, not memory)."""

    def decorate(view: F) -> F:
        setattr(view, _ATTRIBUTE, max_bytes)
        return view

    return decorate


def _apply_limit() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, _ATTRIBUTE, None)
    if limit is None and view is not None and hasattr(view, "view_class"):
        # flask-smorest MethodViews: the limit sits on the method.
        handler = getattr(view.view_class, request.method.lower(), None)
        limit = getattr(handler, _ATTRIBUTE, None)
    if limit is not None:
        request.max_content_length = limit


def _require_utf8_query() -> None:
    # Werkzeug decodes the query as strict UTF-8 when a view first reads
    # request.args; raw bytes from the request line would fail there, a 500.
    try:
        request.query_string.decode()
    except UnicodeDecodeError:
        # Dropped, so the error page (which reads request.args) can render.
        request.query_string = b""
        raise BadRequest(_("The address's query is not UTF-8.")) from None


def init_app(app: Flask) -> None:
    app.before_request(_require_utf8_query)
    app.before_request(_apply_limit)
