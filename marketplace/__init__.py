"""The marketplace: the public catalog, tenants, enablements, usage and cost."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def init_app(app: Flask, api: Api) -> None:
    from marketplace import (
        admin_views,
        enablement_api,
        joint_views,
        shelf_api,
        shelf_views,
        usage_api,
        usage_views,
        views,
    )
    from marketplace import api as marketplace_api

    app.register_blueprint(views.bp)
    app.register_blueprint(admin_views.bp)
    app.register_blueprint(usage_views.bp)
    app.register_blueprint(shelf_views.bp)
    app.register_blueprint(joint_views.bp)
    api.register_blueprint(enablement_api.blp)
    api.register_blueprint(usage_api.blp)
    api.register_blueprint(shelf_api.blp)
    api.register_blueprint(marketplace_api.blp)
    api.register_blueprint(marketplace_api.apps_blp)
