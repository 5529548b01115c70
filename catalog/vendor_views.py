"""The vendor portal (/vendor/...): apps, releases, evidence, submission, credentials."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("vendor", __name__, url_prefix="/vendor", template_folder="templates")
