"""People and their sign-in: users, roles, sessions, API tokens."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def init_app(app: Flask, api: Api) -> None:
    from accounts import access, cli, labels, views
    from accounts import api as accounts_api
    from torget.db import utcnow

    access.init_app(app)
    app.jinja_env.globals.update(
        role_label=labels.role_label,
        now=utcnow,
        # `user_has_role("reviewer")` in templates: what the menu offers.
        user_has_role=lambda *roles: access.has_role(access.current_user(), roles),
    )
    app.add_template_filter(labels.format_organisation_number, "orgnr")
    app.register_blueprint(views.bp)
    api.register_blueprint(accounts_api.blp)
    app.cli.add_command(cli.user_cli)
