"""Deny by default: every endpoint declares who may reach it.

A view is reachable only when it carries an access rule: `public` or one of
the rules `accounts.access` builds (`login_required`, `requires(...)`). Before
each request the shell finds the endpoint's rule and runs it; an endpoint with
no rule is refused with 403, so a forgotten decorator fails closed. A test
walks the URL map and checks that every endpoint has a rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request

from torget.errors import Forbidden

Rule = Callable[[], None]
"""Raises Unauthorized or Forbidden when the current request may not proceed."""

F = TypeVar("F", bound=Callable[..., Any])

_ATTRIBUTE = "_torget_access_rule"


def with_rule(rule: Rule) -> Callable[[F], F]:
    """Attach `rule` to a view function or a MethodView method."""

    def mark(view: F) -> F:
        setattr(view, _ATTRIBUTE, rule)
        return view

    return mark


def _allow() -> None:
    return None


public = with_rule(_allow)
"""Anyone, signed in or not, may reach this view."""

# Endpoints of libraries we mount: static files and the OpenAPI document.
_PUBLIC_ENDPOINTS = {"static"}
_PUBLIC_BLUEPRINTS = {"api-docs"}


def rule_for(app: Flask, endpoint: str, method: str) -> Rule | None:
    """The access rule of `endpoint` for `method`, or None when it has none."""
    if endpoint in _PUBLIC_ENDPOINTS or endpoint.split(".")[0] in _PUBLIC_BLUEPRINTS:
        return _allow
    view = app.view_functions.get(endpoint)
    if view is None:
        return None
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
        return getattr(handler, _ATTRIBUTE, None) or getattr(view_class, _ATTRIBUTE, None)
    return getattr(view, _ATTRIBUTE, None)


def _enforce() -> None:
    if request.endpoint is None:  # no route matched: the 404/405 handler answers
        return
    if request.method == "OPTIONS":  # Flask's automatic answer lists methods, no data
        return
    rule = rule_for(current_app, request.endpoint, request.method)
    if rule is None:
        raise Forbidden()
    rule()


def init_app(app: Flask) -> None:
    app.before_request(_enforce)
