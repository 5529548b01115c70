"""The marketplace: tenants (municipalities) and, later, enablements, usage and cost."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def init_app(app: Flask, api: Api) -> None:
    from marketplace import api as marketplace_api
    from marketplace import views

    app.register_blueprint(views.bp)
    api.register_blueprint(marketplace_api.blp)
