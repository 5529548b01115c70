"""The SMART/OAuth2 authorization server (issue 6): signing keys and JWKS so far."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def init_app(app: Flask, api: Api) -> None:
    from auth import cli, views

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.keys_cli)
