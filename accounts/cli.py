"""`torget user ...`: create users and grant roles from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from accounts import organisations, users
from accounts.models import Role
from torget.db import unit_of_work
from torget.errors import DomainError

user_cli = AppGroup("user", help="Create users and grant roles.")


def _fail(error: DomainError) -> None:
    fields = "; ".join(f"{name}: {', '.join(msgs)}" for name, msgs in error.fields.items())
    raise click.ClickException(fields or error.detail or str(error.title))


@user_cli.command("create")
@click.argument("email")
@click.option("--name", "display_name", required=True, help="The name people see.")
@click.option("--hpr", "hpr_number", help="HPR number, for health personnel.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input instead of prompting.",
)
def create(email: str, display_name: str, hpr_number: str | None, password_stdin: bool) -> None:
    """Create a user with EMAIL. The password is prompted for (never an argument)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with unit_of_work():
            user = users.create_user(
                email=email, display_name=display_name, password=password, hpr_number=hpr_number
            )
    except DomainError as error:
        _fail(error)
    click.echo(f"Created {user.email}.")


@user_cli.command("grant")
@click.argument("email")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.option("--org", "org_slug", help="The organisation (municipality or vendor) slug.")
def grant(email: str, role: str, org_slug: str | None) -> None:
    """Give the user with EMAIL the ROLE, in an organisation where the role needs one."""
    try:
        with unit_of_work():
            user = users.get_by_email(email)
            organisation = organisations.get_by_slug(org_slug) if org_slug else None
            users.grant_role(user, Role(role), organisation)
    except DomainError as error:
        _fail(error)
    where = f" in {org_slug}" if org_slug else ""
    click.echo(f"{user.email} is now {role}{where}.")
