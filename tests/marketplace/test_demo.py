"""The demo enablements: a pending re-consent, a stopped app, a disabled one, a month of usage."""

from __future__ import annotations

import sqlalchemy as sa

from catalog import applications, credentials
from catalog.models import Environment
from marketplace import enablements, joint, tenants, usage
from marketplace.models import EnablementEvent, EnablementState, UsageDay
from torget.db import db, utcnow


def _count(model: type) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _enablement(tenant: str, app: str):
    return enablements.get(tenants.get_by_slug(tenant), applications.get_by_slug(app))


def _production(app: str) -> str:
    client = credentials.find_client(applications.get_by_slug(app), Environment.PRODUCTION)
    return client.client_id


def test_the_demo_shows_every_kind_of_enablement_and_loads_once(runner) -> None:
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "7 new enablements" in first.output

    oslo_news2 = _enablement("oslo", "news2-varsel")
    assert oslo_news2.release.version == "1.0.0"
    newer = enablements.newer_release(oslo_news2)
    assert newer is not None
    assert newer.version == "1.1.0"
    assert enablements.widening(oslo_news2, newer) == ["launch/patient"]
    decision = enablements.launch_policy(_production("news2-varsel"), "oslo")
    assert decision.allowed
    assert decision.release == oslo_news2.release

    assert enablements.is_stopped(_enablement("bodo", "legemiddelliste"))
    assert not enablements.launch_policy(_production("legemiddelliste"), "bodo").allowed
    assert _enablement("stavanger", "tjenesteoversikt").state == EnablementState.DISABLED
    assert not enablements.launch_policy(_production("tjenesteoversikt"), "stavanger").allowed
    assert enablements.launch_policy(_production("kommunestatistikk"), "trondheim").allowed

    (proposal,) = joint.for_tenant(tenants.get_by_slug("vinje"))
    assert [m.tenant.slug for m in proposal.members] == ["bodo", "hammerfest", "vinje"]
    assert sum(s.yearly_ore for s in joint.cost_split(proposal)) > 0

    this_year = utcnow().year
    bergen = tenants.get_by_slug("bergen")
    months = usage.monthly(applications.get_by_slug("news2-varsel"), year=this_year, tenant=bergen)
    assert sum(m.launches for m in months) > 0
    assert sum(m.active_users for m in months) > 0

    counts = [
        db.session.scalar(sa.select(sa.func.count()).select_from(m))
        for m in (EnablementEvent, UsageDay)
    ]
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0, second.output
    assert "0 new enablements" in second.output
    again = [
        db.session.scalar(sa.select(sa.func.count()).select_from(m))
        for m in (EnablementEvent, UsageDay)
    ]
    assert again == counts
