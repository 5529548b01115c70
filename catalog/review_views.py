"""The reviewer console (/review/...): queue, release review, criteria, vendor verification."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/review", template_folder="templates")
