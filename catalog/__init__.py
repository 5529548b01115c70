"""The app registry: vendors, applications, releases, certification and credentials."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def init_app(app: Flask, api: Api) -> None:
    from catalog import api as catalog_api
    from catalog import cli, keys, labels, review_views, vendor_views, views

    config = app.config["TORGET"]
    # One per process: it caches the key sets of key-based clients.
    app.extensions["torget_jwks"] = keys.JwksFetcher(
        allow_insecure_loopback=not config.is_production
    )

    app.register_blueprint(views.bp)
    app.register_blueprint(vendor_views.bp)
    app.register_blueprint(review_views.bp)
    for blueprint in catalog_api.BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.cli.add_command(cli.catalog_cli)
    app.jinja_env.globals.update(
        catalog_label=labels.label,
        catalog_price=labels.price,
        explained_scopes=labels.explained_scopes,
    )
