"""The vendor portal (/vendor/...): apps, releases, evidence, submission, credentials."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from accounts.access import login_required, require_user
from catalog import vendors

bp = Blueprint("vendor", __name__, url_prefix="/vendor", template_folder="templates")


@bp.get("/")
@login_required
def dashboard() -> ResponseReturnValue:
    """The signed-in person's vendors, their apps and releases (or the sign-up offer)."""
    return render_template(
        "catalog/vendor/dashboard.html", vendors=vendors.vendors_of(require_user())
    )
