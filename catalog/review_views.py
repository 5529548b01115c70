"""The reviewer console (/review/...): queue, release review, criteria, vendor verification."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from accounts.access import requires
from accounts.models import Role
from catalog import reviews

bp = Blueprint("review", __name__, url_prefix="/review", template_folder="templates")


@bp.get("/")
@requires(Role.REVIEWER)
def queue() -> ResponseReturnValue:
    """Releases waiting for a decision, the longest waiting first."""
    return render_template("catalog/review/queue.html", items=reviews.queue())
