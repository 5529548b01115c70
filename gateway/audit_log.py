"""Reading the gateway's audit trail: one municipality's access events, filtered, newest first.

The municipal admin's page and CSV (`find`, `rows_for_csv`) and the operator's
FHIR AuditEvent search (`search`) read the same rows. Every query is bound to
one tenant: nothing here can return another municipality's events. Filters
are checked here, at the edge, and refused with `Invalid` naming the form's
field, so a bad date or an unknown outcome is a message, never a 500.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, func, select

from catalog.models import Application
from gateway.models import AccessEvent
from gateway.validation import is_fhir_id
from marketplace.models import Enablement, Tenant
from marketplace.tenants import norwegian_sort_key
from torget.db import db
from torget.errors import FieldErrors, Invalid

OUTCOMES = ("allowed", "denied", "invalid")
PER_PAGE = 50
MAX_PER_PAGE = 200
# A CSV larger than this is more than a spreadsheet opens well: narrow the dates instead.
CSV_LIMIT = 50_000
# People give dates in Norwegian time: "from 1 March" starts at midnight in Oslo.
OSLO = ZoneInfo("Europe/Oslo")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PAGE = re.compile(r"[0-9]{1,6}")
_MAX_SLUG = 100


@dataclass(frozen=True)
class AuditFilters:
    """What the admin filters on; the keyword arguments of `find` and `rows_for_csv`."""

    application_slug: str | None = None
    patient: str | None = None
    outcome: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None

    def args(self, **extra: Any) -> dict[str, Any]:
        """The filters as the page's GET parameters (empty ones left out), so a view is a link.

        `extra` adds parameters, such as `page=2`.
        """
        out: dict[str, Any] = {
            "app": self.application_slug,
            "patient": self.patient,
            "outcome": self.outcome,
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
            **extra,
        }
        return {name: value for name, value in out.items() if value not in (None, "")}

    def keywords(self) -> dict[str, Any]:
        return {
            "application_slug": self.application_slug,
            "patient": self.patient,
            "outcome": self.outcome,
            "since": self.since,
            "until": self.until,
        }


@dataclass(frozen=True)
class AuditRow:
    """One event, with the name of its app (None: the caller was no known app)."""

    event: AccessEvent
    application_slug: str | None
    application_name: str | None


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


# --- the page's parameters ---------------------------------------------------------------------


def filters_from_args(args: Mapping[str, str]) -> AuditFilters:
    """The page's `?app=&patient=&outcome=&from=&to=` as filters; Invalid naming each bad one."""
    errors = FieldErrors()
    dates: dict[str, dt.date | None] = {}
    for name in ("from", "to"):
        text = args.get(name, "").strip()
        dates[name] = _date(text) if text else None
        if text and dates[name] is None:
            errors.add(name, _("Enter a date like 2026-03-01 (year-month-day)."))
    filters = AuditFilters(
        application_slug=args.get("app", "").strip() or None,
        patient=args.get("patient", "").strip() or None,
        outcome=args.get("outcome", "").strip() or None,
        since=dates["from"],
        until=dates["to"],
    )
    # Every other field too, so the admin hears of all mistakes at once.
    _check(errors, filters.patient, filters.outcome, filters.since, filters.until)
    _raise_if_any(errors)
    return filters


def page_from_args(args: Mapping[str, str]) -> int:
    text = args.get("page", "").strip()
    if not text:
        return 1
    if not _PAGE.fullmatch(text) or int(text) < 1:
        raise Invalid(_("A page is a whole number from 1."), field="page")
    return int(text)


def _date(text: str) -> dt.date | None:
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


# --- the queries ----------------------------------------------------------------------------------


def find(
    tenant: Tenant,
    *,
    application_slug: str | None = None,
    patient: str | None = None,
    outcome: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> AuditPage:
    """One page of `tenant`'s events that match the filters, newest first."""
    if page < 1:
        raise Invalid(_("A page is a whole number from 1."), field="page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise Invalid(_("A page shows 1 to %(n)d events.", n=MAX_PER_PAGE), field="per_page")
    conditions = _conditions(tenant, application_slug, patient, outcome, since, until)
    total = db.session.scalar(select(func.count(AccessEvent.id)).where(*conditions)) or 0
    statement = _rows(conditions).offset((page - 1) * per_page).limit(per_page)
    return AuditPage(rows=_read(statement), total=total, page=page, per_page=per_page)


def rows_for_csv(
    tenant: Tenant,
    *,
    application_slug: str | None = None,
    patient: str | None = None,
    outcome: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    limit: int = CSV_LIMIT,
) -> Iterator[AuditRow]:
    """`tenant`'s events that match the filters, newest first, at most `limit` of them.

    Checked before the first row is read, so a bad filter refuses the whole file;
    read in batches, so a large file never holds every row in memory at once.
    """
    conditions = _conditions(tenant, application_slug, patient, outcome, since, until)
    statement = _rows(conditions).limit(limit).execution_options(yield_per=1000)
    return (_row(found) for found in db.session.execute(statement))


def search(
    tenant: Tenant,
    *,
    patient: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    offset: int = 0,
    limit: int = PER_PAGE,
) -> tuple[list[AuditRow], int]:
    """`tenant`'s events at or after `start` and before `end` (aware), newest first; the total."""
    conditions = [AccessEvent.tenant_id == tenant.id]
    if patient is not None:
        conditions.append(AccessEvent.patient_id == patient)
    if start is not None:
        conditions.append(AccessEvent.at >= start)
    if end is not None:
        conditions.append(AccessEvent.at < end)
    total = db.session.scalar(select(func.count(AccessEvent.id)).where(*conditions)) or 0
    return _read(_rows(conditions).offset(offset).limit(limit)), total


def get(tenant: Tenant, event_id: str) -> AuditRow | None:
    """One of `tenant`'s events by its id; None for another municipality's or none."""
    if not event_id.isdigit() or len(event_id) > 18:
        return None
    found = _read(_rows([AccessEvent.tenant_id == tenant.id, AccessEvent.id == int(event_id)]))
    return found[0] if found else None


def applications(tenant: Tenant) -> list[tuple[str, str]]:
    """(slug, name) of the apps the filter offers: those with events here or enabled here."""
    with_events = select(AccessEvent.application_id).where(AccessEvent.tenant_id == tenant.id)
    enabled = select(Enablement.application_id).where(Enablement.tenant_id == tenant.id)
    found = db.session.execute(
        select(Application.slug, Application.name).where(
            Application.id.in_(with_events) | Application.id.in_(enabled)
        )
    )
    return sorted(
        ((slug, name) for slug, name in found), key=lambda app: norwegian_sort_key(app[1])
    )


def _conditions(
    tenant: Tenant,
    application_slug: str | None,
    patient: str | None,
    outcome: str | None,
    since: dt.date | None,
    until: dt.date | None,
) -> list[ColumnElement[bool]]:
    """The WHERE of the filters, the tenant first; Invalid naming every bad filter."""
    errors = FieldErrors()
    conditions = [AccessEvent.tenant_id == tenant.id]
    if application_slug is not None:
        application_id = (
            db.session.scalar(select(Application.id).where(Application.slug == application_slug))
            if len(application_slug) <= _MAX_SLUG
            else None
        )
        errors.check(
            application_id is not None,
            "app",
            _("No app is called %(slug)s.", slug=application_slug[:_MAX_SLUG]),
        )
        conditions.append(AccessEvent.application_id == application_id)
    _check(errors, patient, outcome, since, until)
    _raise_if_any(errors)
    if patient is not None:
        conditions.append(AccessEvent.patient_id == patient.removeprefix("Patient/"))
    if outcome is not None:
        conditions.append(AccessEvent.outcome == outcome)
    if since is not None and (start := _midnight_in_oslo(since)) is not None:
        conditions.append(AccessEvent.at >= start)
    if until is not None and (end := _midnight_in_oslo(until, days_after=1)) is not None:
        conditions.append(AccessEvent.at < end)
    return conditions


def _check(
    errors: FieldErrors,
    patient: str | None,
    outcome: str | None,
    since: dt.date | None,
    until: dt.date | None,
) -> None:
    """Adds to `errors` what is wrong with the filters that need no database to check."""
    if patient is not None:
        errors.check(
            is_fhir_id(patient.removeprefix("Patient/")),
            "patient",
            _("A patient id is 1 to 64 letters, digits, - and ., like kari or Patient/kari."),
        )
    if outcome is not None:
        errors.check(
            outcome in OUTCOMES,
            "outcome",
            _("The outcome is one of: %(outcomes)s.", outcomes=", ".join(OUTCOMES)),
        )
    if since is not None and until is not None:
        errors.check(since <= until, "to", _("The end date cannot be before the start date."))


def _raise_if_any(errors: FieldErrors) -> None:
    """Invalid naming each bad field; its detail says all, for a page with no field to show."""
    if errors:
        messages = [message for found in errors.fields.values() for message in found]
        raise Invalid(" ".join(messages), fields=errors.fields)


def _midnight_in_oslo(day: dt.date, *, days_after: int = 0) -> dt.datetime | None:
    """The start of `day` (plus `days_after`) in Oslo, in UTC; None beyond the calendar."""
    try:
        local = dt.datetime.combine(day + dt.timedelta(days=days_after), dt.time(), OSLO)
        return local.astimezone(dt.UTC)
    except OverflowError:
        return None


def _rows(conditions: list[ColumnElement[bool]]) -> Select[Any]:
    return (
        select(AccessEvent, Application.slug, Application.name)
        .outerjoin(Application, Application.id == AccessEvent.application_id)
        .where(*conditions)
        # The id breaks ties: events of the same instant keep one order across pages.
        .order_by(AccessEvent.at.desc(), AccessEvent.id.desc())
    )


def _read(statement: Select[Any]) -> list[AuditRow]:
    return [_row(found) for found in db.session.execute(statement)]


def _row(found: Any) -> AuditRow:
    event, slug, name = found
    return AuditRow(event=event, application_slug=slug, application_name=name)
