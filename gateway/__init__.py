"""The platform data API: the per-tenant FHIR gateway (issue 7). So far: the metadata."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from gateway import metadata

    app.register_blueprint(metadata.bp)
