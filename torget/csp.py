"""The Content-Security-Policy every page gets, and its one widening.

Pages load nothing from other origins and post forms only here. The one
exception: Torget's OAuth consent form ends in a redirect to the app, and
browsers hold a form's redirects to `form-action` too, so that page adds the
app's registered redirect origin (and nothing else).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import g

_BASE = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def allow_form_redirect_to(url: str) -> None:
    """Let this response's forms end in a redirect to `url`'s origin."""
    parts = urlsplit(url)
    if parts.scheme in {"http", "https"} and parts.netloc:
        g.csp_form_origins = [*g.get("csp_form_origins", []), f"{parts.scheme}://{parts.netloc}"]


def policy() -> str:
    origins = " ".join(["'self'", *g.get("csp_form_origins", [])])
    return f"{_BASE}; form-action {origins}"
