"""The `torget` command: Flask's CLI on the application factory."""

from __future__ import annotations

from flask.cli import FlaskGroup

from torget.app import create_app


def main() -> None:
    FlaskGroup(create_app=lambda: create_app(), help="Torget operations.")()
