"""The application factory: the one module that composes every package."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from flask import Flask, Response, current_app
from flask.cli import AppGroup
from flask_migrate import Migrate
from werkzeug.middleware.proxy_fix import ProxyFix

import accounts
import auth
import catalog
import gateway
import marketplace
from accounts import demo as accounts_demo
from auth import demo as auth_demo
from auth import keys as auth_keys
from catalog import demo as catalog_demo
from gateway import demo as gateway_demo
from marketplace import demo as marketplace_demo
from torget import (
    access,
    api,
    csp,
    errors,
    home,
    i18n,
    limits,
    operations,
    pilot_apps,
    ratelimit,
    request_log,
)
from torget import db as database
from torget.config import Config, load
from torget.db import db, unit_of_work

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Flask:
    """Build Torget from the environment; `overrides` (Config field names) win, for tests."""
    config = load(environ, **dict(overrides or {}))
    app = Flask("torget", instance_path=config.instance_path)
    _configure_flask(app, config)
    if config.proxy_hops:
        # The client's address, for per-IP rate limits, the audit and the log:
        # only the entries the trusted proxies appended, never one a client sent.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.proxy_hops)  # type: ignore[method-assign]

    # after_request hooks run in reverse order: the request log goes first so
    # it runs last and records the status the client really gets.
    request_log.init_app(app)
    # Before any hook that reads a body (the CSRF check).
    limits.init_app(app)
    # After the body limit (it reads forms), before any hook that begins the
    # request's transaction (the signed-in user): see torget.ratelimit.
    ratelimit.init_app(app)
    operations.init_app(app)
    errors.init_app(app)
    database.init_app(app)
    Migrate(app, db, directory=str(MIGRATIONS), render_as_batch=True, compare_type=True)
    i18n.init_app(app)
    rest = api.init_app(app)
    app.register_blueprint(home.bp)
    accounts.init_app(app, rest)
    catalog.init_app(app, rest)
    marketplace.init_app(app, rest)
    auth.init_app(app, rest)
    gateway.init_app(app)
    pilot_apps.init_app(app)
    # Last, so the user is known when the endpoint's rule runs.
    access.init_app(app)
    app.after_request(_security_headers)
    app.cli.add_command(demo_cli)
    return app


def _configure_flask(app: Flask, config: Config) -> None:
    Path(config.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(
        TORGET=config,
        SECRET_KEY=config.secret_key,
        SQLALCHEMY_DATABASE_URI=config.database_url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        # Form fields beyond these limits are a 413, not a slow parse.
        MAX_FORM_MEMORY_SIZE=config.max_body_bytes,
        MAX_FORM_PARTS=1000,
        SESSION_COOKIE_NAME="torget_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        PERMANENT_SESSION_LIFETIME=config.session_max_hours * 3600,
        PREFERRED_URL_SCHEME="https" if config.secure_cookies else "http",
        TESTING=config.env == "test",
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep schema order


def _security_headers(response: Response) -> Response:
    # Pages are served from here only: no inline script, no third-party origin.
    response.headers.setdefault("Content-Security-Policy", csp.policy())
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if current_app.config["TORGET"].secure_cookies:
        # Served over HTTPS (TORGET_BASE_URL): browsers keep to HTTPS for a year.
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if response.mimetype == "text/html":
        # Pages can show personal data: never keep them in shared caches.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


demo_cli = AppGroup("demo", help="Demo data: municipalities, vendors and users.")


@demo_cli.command("load")
def load_demo() -> None:
    """Load the demo data (idempotent) and print the demo users."""
    cfg: Config = current_app.config["TORGET"]
    if cfg.is_production and not cfg.demo:
        raise click.ClickException(
            "Refusing to load demo data into production: set TORGET_DEMO=1 for a demo site."
        )
    with unit_of_work():
        created = marketplace_demo.load()
        users = accounts_demo.load()
        created += marketplace_demo.load_sandbox()
        apps = catalog_demo.load(
            vendor_email="vendor@torget.example",
            reviewer_email="reviewer@torget.example",
            operator_email="operator@torget.example",
        )
        enabled = marketplace_demo.load_enablements()
        marketplace_demo.load_joint()
        fhir_resources = gateway_demo.load(auth_demo.demo_tenants())
        # A demo instance signs tokens from the start; production rotates by command.
        auth_keys.ensure_current()
    click.echo(
        f"Demo data loaded ({created} new municipalities, {apps} new apps, "
        f"{enabled} new enablements, {fhir_resources} new FHIR resources)."
    )
    click.echo(f"Demo users (password for all: {accounts_demo.DEMO_PASSWORD}):")
    for user in users:
        where = f" in {user.organisation}" if user.organisation else ""
        click.echo(f"  {user.email:36} {user.role.value}{where}")
