"""The two pilot SMART apps of examples/, served by Torget itself outside production.

`make run` shows the whole loop on one origin: the apps' files at
`/examples/<folder>/`, the npm fhirclient's browser build (installed by
`make node-deps`, never fetched from a CDN) at `/examples/vendor/fhir-client.js`,
and each app's `config.json` written from the database, so it carries the
client id of the app's production client. In production the vendors host
their own apps: nothing here is registered unless it is a demo site
(`TORGET_DEMO=1`).
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, jsonify, send_from_directory
from sqlalchemy import select

from catalog import credentials, demo
from catalog.models import Application, Environment
from torget.access import public
from torget.db import db

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
FHIR_CLIENT = ROOT / "node_modules" / "fhirclient" / "build"
# examples/<folder>/ -> the slug of the app it is in the catalog (catalog/demo.py).
PILOTS = {app.served_from: app.slug for app in demo.APPS if app.served_from}
# What a page loads; tests (*.test.mjs) and anything else stay unserved.
MIMETYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}

bp = Blueprint("pilots", __name__, url_prefix="/examples")


@bp.get("/vendor/fhir-client.js")
@public
def fhir_client() -> Response:
    if not (FHIR_CLIENT / "fhir-client.js").is_file():
        abort(404, "The fhirclient browser build is missing: run `make node-deps`.")
    return send_from_directory(FHIR_CLIENT, "fhir-client.js", mimetype="text/javascript")


@bp.get("/<folder>/config.json")
@public
def config(folder: str) -> Response:
    """The app's settings: its scope as the vendor wrote it, the client id from the catalog."""
    slug = PILOTS.get(folder)
    if slug is None:
        abort(404)
    written = json.loads((EXAMPLES / folder / "config.json").read_text(encoding="utf-8"))
    application = db.session.scalar(select(Application).where(Application.slug == slug))
    client = credentials.find_client(application, Environment.PRODUCTION) if application else None
    if client is None:
        abort(404, "The app is not in this Torget's catalog: run `make demo`.")
    response = jsonify({**written, "clientId": client.client_id})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<folder>/<name>")
@public
def asset(folder: str, name: str) -> Response:
    mimetype = MIMETYPES.get(Path(name).suffix)
    if folder not in PILOTS or mimetype is None or name.endswith(".test.mjs"):
        abort(404)
    # send_from_directory refuses a name that leaves the folder (.., absolute paths).
    return send_from_directory(EXAMPLES / folder, name, mimetype=mimetype)


def init_app(app: Flask) -> None:
    config = app.config["TORGET"]
    if config.demo or not config.is_production:
        app.register_blueprint(bp)
