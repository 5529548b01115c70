"""Per-endpoint request body limits, for the few routes that take uploads.

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


def init_app(app: Flask) -> None:
    app.before_request(_apply_limit)
