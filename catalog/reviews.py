"""The certification body's work: the queue, the checklist and the decisions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from accounts.models import Role, User
from catalog import criteria, releases, vendors
from catalog.models import Criterion, CriterionCheck, Outcome, Release, ReleaseState
from torget.db import db, utcnow
from torget.errors import Conflict, Forbidden, Invalid, NotFound

QUEUE_STATES = (ReleaseState.SUBMITTED, ReleaseState.IN_REVIEW)
# Drafts are the vendor's work in progress: the certification body sees a release once submitted.
LISTED_STATES = tuple(s for s in ReleaseState if s != ReleaseState.DRAFT)


@dataclass(frozen=True)
class QueueItem:
    release: Release
    waiting: dt.timedelta


def queue(now: dt.datetime | None = None) -> list[QueueItem]:
    """Releases waiting for a decision, longest waiting first."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(Release)
        .where(Release.state.in_(QUEUE_STATES))
        .order_by(Release.submitted_at, Release.id)
    )
    return [QueueItem(release=r, waiting=now - (r.submitted_at or now)) for r in rows]


def get(release_id: int) -> Release:
    """A release the certification body may look at: any but a draft."""
    release = releases.get(release_id)
    if release.state not in LISTED_STATES:
        raise NotFound(_("No release has the number %(id)s.", id=release_id))
    return release


def in_state(state: str, *, limit: int = 200) -> list[Release]:
    """Submitted releases in `state`, the most recently changed first, at most `limit`."""
    try:
        wanted = ReleaseState(state)
    except ValueError:
        wanted = None
    if wanted not in LISTED_STATES:
        raise Invalid(_("Choose a state a submitted release can be in."), field="state")
    return list(
        db.session.scalars(
            select(Release)
            .where(Release.state == wanted)
            .order_by(Release.updated_at.desc(), Release.id.desc())
            .limit(limit)
        )
    )


def require_reviewer(user: User, release: Release) -> None:
    """A reviewer, and independent: never of a vendor they are a member of."""
    if not any(m.role == Role.REVIEWER for m in user.memberships):
        raise Forbidden(_("Only reviewers of the certification body do this."))
    if vendors.is_member(user, release.application.vendor):
        raise Forbidden(
            _(
                "You are a member of %(vendor)s and cannot review its releases.",
                vendor=release.application.vendor.name,
            )
        )


def start(release: Release, *, by: User) -> Release:
    require_reviewer(by, release)
    return releases.start_review(release, by=by)


def record_check(
    release: Release, criterion: Criterion, outcome: str, comment: str, *, by: User
) -> CriterionCheck:
    """Mark one criterion passed, failed or not applicable, with a comment."""
    require_reviewer(by, release)
    if release.state != ReleaseState.IN_REVIEW:
        raise Conflict(_("Criteria are checked while the release is in review."))
    try:
        result = Outcome(outcome)
    except ValueError:
        raise Invalid(_("Choose passed, failed or not applicable."), field="outcome") from None
    comment = (comment or "").strip()
    if len(comment) > 5000:
        raise Invalid(_("At most %(n)d characters.", n=5000), field="comment")
    if result == Outcome.NOT_APPLICABLE and criterion.mandatory:
        raise Invalid(_("A mandatory criterion always applies."), field="outcome")
    if result == Outcome.FAILED and not comment:
        raise Invalid(_("Say what is missing: the vendor reads it."), field="comment")
    check = next((c for c in release.checks if c.criterion_id == criterion.id), None)
    if check is None:
        check = CriterionCheck(criterion=criterion, outcome=result)
        release.checks.append(check)
    check.outcome, check.comment, check.reviewer_id, check.checked_at = (
        result,
        comment,
        by.id,
        utcnow(),
    )
    db.session.flush()  # generate check.id for the response
    return check


def unresolved(release: Release) -> list[Criterion]:
    """Active criteria that stand in the way of certification."""
    outcomes = {c.criterion_id: c.outcome for c in release.checks}
    blocking = []
    for criterion in criteria.active():
        outcome = outcomes.get(criterion.id)
        if outcome == Outcome.FAILED or (criterion.mandatory and outcome != Outcome.PASSED):
            blocking.append(criterion)
    return blocking


def certify(release: Release, *, by: User, comment: str = "") -> Release:
    require_reviewer(by, release)
    blocking = unresolved(release)
    if release.state == ReleaseState.IN_REVIEW and blocking:
        raise Conflict(
            _(
                "Every mandatory criterion must pass and none may fail first: %(codes)s.",
                codes=", ".join(c.code for c in blocking),
            )
        )
    return releases.certify(release, by=by, reason=comment)


def reject(release: Release, *, by: User, reason: str) -> Release:
    require_reviewer(by, release)
    return releases.reject(release, by=by, reason=reason)


def suspend(release: Release, *, by: User, reason: str) -> Release:
    require_reviewer(by, release)
    return releases.suspend(release, by=by, reason=reason)


def reinstate(release: Release, *, by: User, reason: str) -> Release:
    require_reviewer(by, release)
    return releases.reinstate(release, by=by, reason=reason)


def revoke(release: Release, *, by: User, reason: str) -> Release:
    require_reviewer(by, release)
    return releases.revoke(release, by=by, reason=reason)
