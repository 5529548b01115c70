"""Languages: bokmål (the default) and English.

The visitor's choice lives in the session; the switcher is a small form on
every page that posts here and returns to the page it came from.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, has_request_context, redirect, request, session
from flask_babel import Babel
from flask_babel import gettext as _

from torget.access import public
from torget.errors import Invalid

LANGUAGES = {"nb": "Norsk bokmål", "en": "English"}
DEFAULT_LANGUAGE = "nb"

bp = Blueprint("i18n", __name__)
babel = Babel()


def current_language() -> str:
    # Outside a request (the CLI), messages are in the default language.
    chosen = session.get("lang") if has_request_context() else None
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to return to; anything pointing off-site becomes `default`.

    Refuses scheme- or host-relative targets (`//evil`, `/\\evil`,
    `https://evil`), the classic open-redirect shapes.
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(c in target for c in "\r\n\t\\"):
        return default
    return target


@bp.post("/language")
@public
def choose_language() -> Response:
    lang = request.form.get("lang", "")
    if lang not in LANGUAGES:
        raise Invalid(_("Unknown language."), field="lang")
    session["lang"] = lang
    return redirect(safe_next(request.form.get("next")), code=303)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    # Stored times are UTC; people read them in Norwegian time.
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Europe/Oslo")
    babel.init_app(app, locale_selector=current_language)
    app.register_blueprint(bp)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = current_language
