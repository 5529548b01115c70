"""`torget catalog ...`: the criteria seed and the daily evidence check."""

from __future__ import annotations

import datetime as dt
import time

import click
from flask.cli import AppGroup

from catalog import criteria, expiry
from torget.db import unit_of_work

catalog_cli = AppGroup("catalog", help="The app registry and certification.")


@catalog_cli.command("seed-criteria")
def seed_criteria() -> None:
    """Create the seed certification criteria that do not exist yet."""
    with unit_of_work():
        created = criteria.seed()
    click.echo(f"{created} criteria created.")


@catalog_cli.command("check-expiry")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Check as of this date (default: today, UTC).",
)
@click.option(
    "--repeat-hours",
    type=click.IntRange(min=1),
    help="Keep running: check now, then every N hours (make run's scheduler).",
)
def check_expiry(today: dt.datetime | None, repeat_hours: int | None) -> None:
    """Warn 30 days before mandatory evidence expires; suspend releases whose has expired."""
    while True:
        # Each run is its own unit of work: a failed run leaves the next one whole.
        with unit_of_work():
            report = expiry.check_expiry(today.date() if today else None)
        for release, text in report.warned:
            click.echo(f"warned    {release.application.slug} {release.version}: {text}")
        for release, text in report.suspended:
            click.echo(f"suspended {release.application.slug} {release.version}: {text}")
        click.echo(f"{len(report.warned)} warned, {len(report.suspended)} suspended.")
        if repeat_hours is None:
            return
        time.sleep(repeat_hours * 3600)
