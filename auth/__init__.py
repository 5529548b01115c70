"""The SMART App Launch / OAuth 2.0 authorization server (issue 6)."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_smorest import Api


def init_app(app: Flask, api: Api) -> None:
    from auth import authorize_views, cli, discovery_views, epj_views, launch_views, server, views
    from marketplace.views import add_clinician_link

    del authorize_views, launch_views  # imported for their routes on views.bp
    server.create_server(app)
    # The patient directory (auth.patients) is the gateway's to register.
    app.register_blueprint(views.bp)
    app.register_blueprint(discovery_views.bp)
    app.register_blueprint(epj_views.bp)
    add_clinician_link(app, "epj.launcher", _l("Start an app for a patient (journal launcher)"))
    app.cli.add_command(cli.keys_cli)
