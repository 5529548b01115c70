"""Who is asking, and may they: the authorization helper every view uses.

Before each request the user is found from the `Authorization: Bearer` API
token (JSON API only) or from the server-side session named by the cookie.
Views declare their rule with `public` (torget.access), `login_required` or
`requires(role, ..., organisation_arg=...)`; torget.access refuses any
endpoint without a rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect

from accounts import api_tokens, sign_in
from accounts.models import Role, User
from torget.access import with_rule
from torget.errors import DomainError, Forbidden, Unauthorized, render_error
from torget.i18n import safe_next

F = TypeVar("F", bound=Callable[..., Any])

csrf = CSRFProtect()

SESSION_KEY = "sid"
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def current_user() -> User | None:
    return g.get("user")


def require_user() -> User:
    user = current_user()
    if user is None:
        raise Unauthorized()
    return user


def start_browser_session(session_id: str) -> None:
    """Bind the browser to a new server-side session.

    A fresh session at sign-in: nothing set before it (a planted CSRF token, an
    old session id) survives; only the language choice is kept.
    """
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session.permanent = True
    session[SESSION_KEY] = session_id


def has_role(
    user: User | None, roles: Iterable[Role], organisation_slug: str | None = None
) -> bool:
    """Whether `user` holds one of `roles` (in the organisation, when one is named)."""
    if user is None:
        return False
    wanted = set(roles)
    for membership in user.memberships:
        if membership.role not in wanted:
            continue
        if organisation_slug is None or (
            membership.organisation is not None
            and membership.organisation.slug == organisation_slug
        ):
            return True
    return False


def _logged_in() -> None:
    require_user()


login_required = with_rule(_logged_in)
"""Any signed-in user."""


def requires(*roles: Role, organisation_arg: str | None = None) -> Callable[[F], F]:
    """Signed in and holding one of `roles`.

    With `organisation_arg`, the role must be held in the organisation whose
    slug is that URL variable (e.g. `/m/<tenant>/` and `organisation_arg="tenant"`):
    an admin of Bergen gets 403 on Oslo's pages.
    """

    def rule() -> None:
        user = require_user()
        slug = (request.view_args or {}).get(organisation_arg) if organisation_arg else None
        if organisation_arg and slug is None:
            raise Forbidden()
        if not has_role(user, roles, slug):
            raise Forbidden(_("Your roles do not give access to this."))

    return with_rule(rule)


def bearer_token() -> str | None:
    """The bearer credential of an API request, or None when there is no header."""
    header = request.headers.get("Authorization")
    if header is None or not request.path.startswith("/api/"):
        return None
    scheme, _sep, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise _invalid_token()
    return credential.strip()


def _invalid_token() -> Unauthorized:
    return Unauthorized(
        _("The API token is missing, revoked, expired or not valid."),
        headers={"WWW-Authenticate": 'Bearer realm="torget", error="invalid_token"'},
    )


def _load_user() -> None:
    g.user = None
    token = bearer_token()
    if token is not None:
        user = api_tokens.authenticate(token)
        if user is None:
            raise _invalid_token()
        g.user, g.user_id, g.via_token = user, user.id, True
        return
    session_id = session.get(SESSION_KEY)
    if session_id:
        user = sign_in.resume(session_id)
        if user is None:
            session.pop(SESSION_KEY, None)
            if not request.path.startswith("/api/"):
                flash(_("Your session has ended. Sign in again."), "info")
        else:
            g.user, g.user_id = user, user.id


_CSRF_EXEMPT = "_torget_csrf_exempt"


def csrf_exempt(view: F) -> F:
    """An endpoint that other sites post to by design (the OAuth token endpoint, ...).

    It must not act on the browser's session cookie without its own check.
    """
    setattr(view, _CSRF_EXEMPT, True)
    return view


def _protect_from_csrf() -> None:
    # Bearer-token calls carry no ambient credential, so cross-site forgery
    # cannot ride on them; everything else sent with a cookie is checked.
    if request.routing_exception is not None:  # the 404/405 answers; no form was read
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, _CSRF_EXEMPT, False):
        return
    if request.method in _UNSAFE_METHODS and not g.get("via_token"):
        csrf.protect()


def _on_csrf_error(error: CSRFError) -> Response:
    g.torget_rollback = True
    return render_error(
        DomainError(
            _(
                "The form had expired or did not come from this site. "
                "Go back, reload the page and try again."
            )
        )
    )


def _on_unauthorized(error: Unauthorized) -> Response:
    g.torget_rollback = True
    # A person at a page is sent to sign in and brought back; an API client
    # gets the 401 problem document.
    if request.path.startswith("/api/") or request.method != "GET":
        headers = dict(error.headers)
        if request.path.startswith("/api/"):
            headers.setdefault("WWW-Authenticate", 'Bearer realm="torget"')
        error.headers = headers
        return render_error(error)
    return redirect(url_for("accounts.login", next=safe_next(request.full_path.rstrip("?"))))


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # One CSRF token for the whole session rather than a per-hour one, so a
    # form left open for a while still posts; logout and login reset it.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    app.before_request(_load_user)
    app.before_request(_protect_from_csrf)
    app.register_error_handler(CSRFError, _on_csrf_error)
    app.register_error_handler(Unauthorized, _on_unauthorized)
    app.jinja_env.globals["current_user"] = current_user
