"""Public catalog files: app logos and screenshots, by content hash."""

from __future__ import annotations

from flask import Blueprint, Response
from flask_babel import gettext as _
from sqlalchemy import select

from catalog import files
from catalog.models import Application, Screenshot
from torget.access import public
from torget.db import db
from torget.errors import NotFound

bp = Blueprint("catalog", __name__, template_folder="templates")


@bp.get("/media/<sha256>")
@public
def media(sha256: str) -> Response:
    """A logo or screenshot. Only images an app shows are served here, never evidence."""
    content_type = db.session.scalar(
        select(Application.logo_content_type).where(Application.logo_sha256 == sha256).limit(1)
    ) or db.session.scalar(
        select(Screenshot.content_type).where(Screenshot.sha256 == sha256).limit(1)
    )
    if content_type is None:
        raise NotFound(_("No such image."))
    response = files.send_stored(sha256, content_type)
    # Named by content: the bytes behind this URL never change.
    response.cache_control.public = True
    response.cache_control.max_age = 31_536_000
    response.cache_control.immutable = True
    return response
