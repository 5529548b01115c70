"""`torget keys ...`: the token signing keys."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from auth import keys
from torget.db import unit_of_work

keys_cli = AppGroup("keys", help="Token signing keys (encrypted with TORGET_KEY_ENCRYPTION_KEY).")


@keys_cli.command("rotate")
def rotate() -> None:
    """Make new signing keys; the current ones keep verifying their tokens for an hour."""
    with unit_of_work():
        made = keys.rotate()
    for key in made:
        click.echo(f"New signing key {key.kid} ({key.alg}); it signs from now on.")


@keys_cli.command("list")
def list_keys() -> None:
    """The keys in the JWKS now, newest first."""
    for key in keys.published():
        state = "signing" if key.retired_at is None else f"retired {key.retired_at:%Y-%m-%d %H:%M}Z"
        click.echo(f"{key.kid}  {key.alg}  {state}")
