"""The certification body: queue, conflict of interest, checklist, decisions."""

from __future__ import annotations

import datetime as dt

import pytest

from catalog import reviews
from catalog.models import Outcome, ReleaseState
from tests.factories.accounts import UserFactory
from tests.factories.catalog import ReleaseFactory, member_of, reviewer
from torget.db import utcnow
from torget.errors import Conflict, Forbidden, Invalid, NotFound

# Messages are compared in English, the source language.
pytestmark = pytest.mark.usefixtures("english")

S = ReleaseState


def test_queue_is_longest_waiting_first_with_waiting_time(db_session) -> None:
    now = utcnow()
    recent = ReleaseFactory(state=S.SUBMITTED, submitted_at=now - dt.timedelta(hours=1))
    oldest = ReleaseFactory(state=S.IN_REVIEW, submitted_at=now - dt.timedelta(days=3))
    ReleaseFactory(state=S.DRAFT)
    ReleaseFactory(state=S.CERTIFIED, submitted_at=now - dt.timedelta(days=9))
    items = reviews.queue(now)
    assert [i.release for i in items] == [oldest, recent]
    assert items[0].waiting == dt.timedelta(days=3)


def test_only_independent_reviewers_review(db_session) -> None:
    release = ReleaseFactory(state=S.SUBMITTED)
    with pytest.raises(Forbidden):
        reviews.start(release, by=UserFactory())  # not a reviewer
    conflicted = reviewer()
    from accounts.models import Role
    from tests.factories.accounts import MembershipFactory

    MembershipFactory(
        user=conflicted,
        role=Role.VENDOR_MEMBER,
        organisation=release.application.vendor.organisation,
    )
    with pytest.raises(Forbidden, match="cannot review"):
        reviews.start(release, by=conflicted)
    assert release.state == S.SUBMITTED
    reviews.start(release, by=reviewer())
    assert release.state == S.IN_REVIEW


def test_checklist_rules(seeded, db_session) -> None:
    release = ReleaseFactory(state=S.SUBMITTED)
    person = reviewer()
    mandatory = next(c for c in seeded if c.mandatory)
    optional = next(c for c in seeded if not c.mandatory)
    with pytest.raises(Conflict):  # not in review yet
        reviews.record_check(release, mandatory, "passed", "", by=person)
    reviews.start(release, by=person)
    with pytest.raises(Invalid):
        reviews.record_check(release, mandatory, "maybe", "", by=person)
    with pytest.raises(Invalid):
        reviews.record_check(release, mandatory, "not_applicable", "", by=person)
    with pytest.raises(Invalid):
        reviews.record_check(release, mandatory, "failed", "", by=person)  # needs a comment
    reviews.record_check(release, optional, "not_applicable", "No clinical decisions", by=person)
    check = reviews.record_check(release, mandatory, "failed", "No DPIA attached", by=person)
    again = reviews.record_check(release, mandatory, "passed", "Received", by=person)
    assert again.id == check.id
    assert again.outcome == Outcome.PASSED


def test_certify_needs_every_mandatory_criterion_passed(seeded, db_session) -> None:
    release = ReleaseFactory(state=S.SUBMITTED)
    person = reviewer()
    reviews.start(release, by=person)
    with pytest.raises(Conflict, match="must pass"):
        reviews.certify(release, by=person)
    for criterion in seeded:
        outcome = "passed" if criterion.mandatory else "not_applicable"
        reviews.record_check(release, criterion, outcome, "ok", by=person)
    optional = next(c for c in seeded if not c.mandatory)
    reviews.record_check(
        release, optional, "failed", "Claims MDR class I, no declaration", by=person
    )
    with pytest.raises(Conflict):
        reviews.certify(release, by=person)  # a failed optional criterion blocks too
    reviews.record_check(release, optional, "passed", "Declaration received", by=person)
    reviews.certify(release, by=person, comment="All good")
    assert release.state == S.CERTIFIED


def test_a_rejected_release_cannot_be_certified(seeded, db_session) -> None:
    release = ReleaseFactory(state=S.IN_REVIEW)
    person = reviewer()
    with pytest.raises(Invalid):
        reviews.reject(release, by=person, reason="")
    reviews.reject(release, by=person, reason="The DPIA is missing.")
    assert release.state == S.REJECTED
    with pytest.raises(Conflict, match="cannot become"):
        reviews.certify(release, by=person)


def test_vendor_members_cannot_decide_on_their_own_release(db_session) -> None:
    release = ReleaseFactory(state=S.IN_REVIEW)
    member = member_of(release.application.vendor)
    with pytest.raises(Forbidden):
        reviews.reject(release, by=member, reason="sabotage")


def test_reviewers_see_submitted_releases_never_drafts(db_session) -> None:
    draft = ReleaseFactory(state=S.DRAFT)
    submitted = ReleaseFactory(state=S.SUBMITTED)
    assert reviews.get(submitted.id) is submitted
    with pytest.raises(NotFound):
        reviews.get(draft.id)
    with pytest.raises(NotFound):
        reviews.get(draft.id + 1000)


def test_releases_by_state_most_recently_changed_first(db_session) -> None:
    now = utcnow()
    older = ReleaseFactory(state=S.CERTIFIED, updated_at=now - dt.timedelta(days=2))
    newer = ReleaseFactory(state=S.CERTIFIED, updated_at=now - dt.timedelta(hours=1))
    ReleaseFactory(state=S.SUSPENDED)
    assert reviews.in_state("certified") == [newer, older]
    for state in ("draft", "nonsense", ""):
        with pytest.raises(Invalid) as refused:
            reviews.in_state(state)
        assert "state" in refused.value.fields
