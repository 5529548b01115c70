"""The daily evidence check."""

from __future__ import annotations

import datetime as dt

import pytest

from catalog import expiry, releases
from catalog.models import ReleaseState
from tests.factories.catalog import CriterionFactory, EvidenceFactory, ReleaseFactory

# Messages are compared in English, the source language.
pytestmark = pytest.mark.usefixtures("english")

TODAY = dt.date(2026, 11, 23)


def _certified_with_evidence(expires_on: dt.date | None, mandatory: bool = True):
    release = ReleaseFactory(state=ReleaseState.CERTIFIED)
    criterion = CriterionFactory(mandatory=mandatory)
    EvidenceFactory(
        release=release, criterion=criterion, issued_on=dt.date(2025, 1, 1), expires_on=expires_on
    )
    return release


def test_warns_once_thirty_days_ahead(db_session) -> None:
    release = _certified_with_evidence(TODAY + dt.timedelta(days=30))
    later = _certified_with_evidence(TODAY + dt.timedelta(days=31))
    report = expiry.check_expiry(TODAY)
    assert [r for r, _ in report.warned] == [release]
    assert release.state == ReleaseState.CERTIFIED
    notice = releases.history(release)[-1]
    assert notice.to_state is None
    assert "expires on 2026-12-23" in notice.reason
    assert expiry.check_expiry(TODAY).warned == []  # once
    assert later.state == ReleaseState.CERTIFIED


def test_suspends_when_mandatory_evidence_has_expired(db_session) -> None:
    release = _certified_with_evidence(TODAY)
    optional = _certified_with_evidence(TODAY - dt.timedelta(days=5), mandatory=False)
    report = expiry.check_expiry(TODAY)
    assert [r for r, _ in report.suspended] == [release]
    assert release.state == ReleaseState.SUSPENDED
    event = releases.history(release)[-1]
    assert event.actor_id is None
    assert "expired on 2026-11-23" in event.reason
    assert optional.state == ReleaseState.CERTIFIED
    assert expiry.check_expiry(TODAY).suspended == []  # suspended once


def test_newer_evidence_for_the_criterion_covers_it(db_session) -> None:
    release = _certified_with_evidence(TODAY - dt.timedelta(days=1))
    criterion = release.evidence[0].criterion
    EvidenceFactory(
        release=release, criterion=criterion, issued_on=dt.date(2026, 1, 1), expires_on=None
    )
    assert expiry.check_expiry(TODAY).suspended == []
    assert release.state == ReleaseState.CERTIFIED


def test_the_command_reports_and_suspends(db_session, runner) -> None:
    release = _certified_with_evidence(TODAY)
    slug = release.application.slug
    result = runner.invoke(args=["catalog", "check-expiry", "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert f"suspended {slug} {release.version}: " in result.output
    assert result.output.splitlines()[-1] == "0 warned, 1 suspended."
    assert releases.get(release.id).state == ReleaseState.SUSPENDED


@pytest.mark.parametrize("hours", ["0", "-1", "soon"])
def test_the_command_refuses_a_repeat_that_is_not_a_whole_positive_hour(
    db_session, runner, hours
) -> None:
    result = runner.invoke(args=["catalog", "check-expiry", "--repeat-hours", hours])
    assert result.exit_code == 2
    assert "--repeat-hours" in result.output
