"""The demo catalog: every release state, real history, and idempotent loading."""

from __future__ import annotations

import sqlalchemy as sa

from catalog import expiry, releases
from catalog.models import (
    Application,
    Client,
    Evidence,
    Release,
    ReleaseEvent,
    ReleaseState,
    Vendor,
)
from torget.db import db, utcnow


def _snapshot() -> dict[str, list[tuple[str, ...]]]:
    return {
        model.__name__: sorted(
            tuple(str(getattr(row, c.key)) for c in sa.inspect(model).columns)
            for row in db.session.scalars(sa.select(model))
        )
        for model in (Vendor, Application, Release, ReleaseEvent, Evidence, Client)
    }


def test_demo_catalog_has_every_state_and_loads_once(runner) -> None:
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "4 new apps" in first.output
    states = set(db.session.scalars(sa.select(Release.state)))
    assert states == set(ReleaseState)
    assert len(db.session.scalars(sa.select(Vendor)).all()) == 4
    names = set(db.session.scalars(sa.select(Application.name)))
    assert {"NEWS2 Varsel", "Tjenesteoversikt"} <= names

    before = _snapshot()
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0, second.output
    assert "0 new apps" in second.output
    db.session.expire_all()
    assert _snapshot() == before


def test_demo_decisions_carry_reasons_and_an_expiry_warning_is_due(runner) -> None:
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    rejected = db.session.scalar(sa.select(Release).where(Release.state == ReleaseState.REJECTED))
    last = releases.history(rejected)[-1]
    assert last.to_state == ReleaseState.REJECTED
    assert "DPIA" in last.reason
    assert last.actor is not None
    assert last.actor.email == "reviewer@torget.example"
    # One demo document expires in 20 days, so the daily check has something to say.
    report = expiry.check_expiry(utcnow().date())
    assert report.warned
    assert report.suspended == []
