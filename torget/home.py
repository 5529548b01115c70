"""The home page: what Torget is, and where each role goes."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from torget.access import public

bp = Blueprint("home", __name__)


@bp.get("/")
@public
def index() -> ResponseReturnValue:
    return render_template("home.html")
