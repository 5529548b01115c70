"""The daily evidence check: warn 30 days ahead, suspend when mandatory evidence expired.

Run by `torget catalog check-expiry` (cron in deploy, the scheduler in `make run`).
Idempotent: a warning is given once per document, a release suspended once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from catalog import releases
from catalog.models import Release
from torget.db import db, utcnow

WARN_DAYS = 30


@dataclass
class ExpiryReport:
    warned: list[tuple[Release, str]] = field(default_factory=list)
    suspended: list[tuple[Release, str]] = field(default_factory=list)


def check_expiry(today: dt.date | None = None) -> ExpiryReport:
    """Warn about mandatory evidence expiring within 30 days; suspend releases whose expired.

    Only launchable releases are checked: a draft is checked at submission, and a
    release under review is the reviewer's to judge.
    """
    today = today or utcnow().date()
    report = ExpiryReport()
    for release in db.session.scalars(
        select(Release).where(Release.state.in_(releases.LAUNCHABLE))
    ):
        _check_release(release, today, report)
    return report


def _check_release(release: Release, today: dt.date, report: ExpiryReport) -> None:
    by_criterion: dict[int, list] = {}
    for evidence in release.evidence:
        if evidence.criterion.mandatory and evidence.criterion.retired_at is None:
            by_criterion.setdefault(evidence.criterion_id, []).append(evidence)
    for documents in by_criterion.values():
        if any(d.expires_on is None for d in documents):
            continue  # a document that never expires covers the criterion
        latest = max(documents, key=lambda d: d.expires_on)
        criterion = latest.criterion
        if latest.expires_on <= today:
            reason = _(
                "Evidence for %(code)s expired on %(date)s.",
                code=criterion.code,
                date=latest.expires_on.isoformat(),
            )
            releases.suspend(release, by=None, reason=reason)
            report.suspended.append((release, reason))
            return
        if (
            latest.expires_on <= today + dt.timedelta(days=WARN_DAYS)
            and not latest.expiry_warned_at
        ):
            text = _(
                "Evidence for %(code)s expires on %(date)s. Submit a new release with new "
                "evidence before then, or the release is suspended.",
                code=criterion.code,
                date=latest.expires_on.isoformat(),
            )
            releases.notice(release, text)
            latest.expiry_warned_at = utcnow()
            report.warned.append((release, text))
