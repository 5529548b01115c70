"""The SMART App Launch / OAuth 2.0 authorization server (issue 6)."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def init_app(app: Flask, api: Api) -> None:
    from auth import authorize_views, cli, discovery_views, launch_views, server, views

    del authorize_views, launch_views  # imported for their routes on views.bp
    server.create_server(app)
    # The patient directory (auth.patients) is the gateway's to register.
    app.register_blueprint(views.bp)
    app.register_blueprint(discovery_views.bp)
    app.cli.add_command(cli.keys_cli)
