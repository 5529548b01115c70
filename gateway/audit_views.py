"""The gateway's audit trail, read: a municipal admin's page and CSV, an operator's FHIR search.

- `/m/<tenant>/audit`: who read what, when, in the municipality; filtered per
  app, patient, outcome and dates by a GET form, so every view is a link.
- `/m/<tenant>/audit.csv`: the same filters as a file.
- `/fhir/<tenant>/AuditEvent`: the same events as FHIR R4 AuditEvent, for an
  operator's Torget API token. More specific than the gateway's
  `/fhir/<tenant>/<resource_type>`, so Werkzeug routes it here.

Reading the audit is not itself audited as a patient-data access: it returns
who read what, never the patient data itself.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue

from accounts import api_tokens
from accounts.access import has_role, requires
from accounts.models import Role
from auth import status
from auth.urls import fhir_base, issuer, tenant_by_slug
from gateway import audit_log
from gateway.audit_log import OSLO, AuditRow
from gateway.outcomes import fhir_response, issue, outcome
from gateway.search_params import SearchRefused, date_range
from gateway.validation import is_fhir_id
from marketplace import tenants
from torget.access import public
from torget.csv_cells import spreadsheet_safe
from torget.errors import Invalid, NotFound

bp = Blueprint("audit", __name__, template_folder="templates")

# Column names are keys for spreadsheets and scripts: the same in every language.
CSV_HEADER = [
    "at",
    "app_slug",
    "app_name",
    "client_id",
    "fhir_user",
    "patient",
    "interaction",
    "resource_type",
    "resource_count",
    "resource_ids",
    "outcome",
    "status",
    "detail",
    "query",
]
# The ids the page shows of each event; the CSV has them all.
SHOWN_IDS = 3


# --- the municipal admin's page and CSV ----------------------------------------------------------


@bp.get("/m/<tenant>/audit")
@requires(Role.MUNICIPAL_ADMIN, organisation_arg="tenant")
def tenant_audit(tenant: str) -> ResponseReturnValue:
    found = tenants.get_by_slug(tenant)
    context: dict[str, Any] = {
        "tenant": found,
        "applications": audit_log.applications(found),
        "outcomes": audit_log.OUTCOMES,
        "form": request.args,
        "base": fhir_base(found.slug) + "/",
        "shown_ids": SHOWN_IDS,
        "csv_limit": audit_log.CSV_LIMIT,
    }
    try:
        filters = audit_log.filters_from_args(request.args)
        page = audit_log.find(
            found, **filters.keywords(), page=audit_log.page_from_args(request.args)
        )
    except Invalid as error:
        # The form again, each message beside its field: the admin corrects it there.
        return render_template("gateway/audit.html", errors=error.fields, **context), 422
    return render_template("gateway/audit.html", errors={}, filters=filters, result=page, **context)


@bp.get("/m/<tenant>/audit.csv")
@requires(Role.MUNICIPAL_ADMIN, organisation_arg="tenant")
def tenant_audit_csv(tenant: str) -> ResponseReturnValue:
    found = tenants.get_by_slug(tenant)
    filters = audit_log.filters_from_args(request.args)
    rows = audit_log.rows_for_csv(found, **filters.keywords())
    body = _csv(rows)
    filename = f"torget-audit-{found.slug}-{_today_in_oslo().isoformat()}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _today_in_oslo() -> dt.date:
    return dt.datetime.now(OSLO).date()


def _csv(rows: Iterable[AuditRow]) -> str:
    """One row per event, newest first, under a header row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in rows:
        event = row.event
        cells = [
            # Norwegian time with its offset: what the page shows, and unambiguous.
            event.at.astimezone(OSLO).isoformat(timespec="seconds"),
            row.application_slug or "",
            row.application_name or "",
            event.client_id or "",
            event.fhir_user or "",
            event.patient_id or "",
            event.interaction,
            event.resource_type or "",
            len(event.resource_ids or []),
            " ".join(event.resource_ids or []),
            event.outcome,
            event.status,
            event.detail,
            event.query,
        ]
        writer.writerow([spreadsheet_safe(cell) for cell in cells])
    return out.getvalue()


# --- the operator's FHIR AuditEvent search ---------------------------------------------------

DEFAULT_COUNT = 50
MAX_COUNT = 100
EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
INTERACTION = "http://hl7.org/fhir/restful-interaction"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
# The CRUDE action of each interaction the gateway audits.
ACTIONS = {"create": "C", "read": "R", "vread": "R", "history": "R", "search": "E", "update": "U"}
_NUMBER = re.compile(r"[0-9]{1,6}")
_ZONE_AS_SPACE = re.compile(r"(T[0-9:.]+) ([0-9]{2}:[0-9]{2})$")
_PREFIX = re.compile(r"(?P<prefix>[a-z]{2})?(?P<date>[0-9].*)", re.DOTALL)


@dataclass(frozen=True)
class AuditSearch:
    """A validated AuditEvent search: the range [start, end) of `recorded`, a patient, a page."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None
    patient: str | None = None
    count: int = DEFAULT_COUNT
    page: int = 1


@bp.get("/fhir/<tenant>/AuditEvent")
@public  # the operator's API token is checked in the view: /fhir/ takes no session
def audit_events(tenant: str) -> Response:
    refusal = _operator_refusal()
    if refusal is not None:
        return refusal
    found = tenant_by_slug(tenant)
    if found is None:
        raise NotFound(f"There is no FHIR base for {tenant[:64]}.")
    params = list(request.args.items(multi=True))
    try:
        wanted = parse_audit_search(params)
    except SearchRefused as error:
        return fhir_response(
            outcome([issue("invalid", error.message, expression=error.param)]), 400
        )
    rows, total = audit_log.search(
        found,
        patient=wanted.patient,
        start=wanted.start,
        end=wanted.end,
        offset=(wanted.page - 1) * wanted.count,
        limit=wanted.count,
    )
    return fhir_response(_bundle(found.slug, params, wanted, rows, total))


@bp.get("/fhir/<tenant>/AuditEvent/<event_id>")
@public  # the operator's API token is checked in the view, as for the search
def audit_event_read(tenant: str, event_id: str) -> Response:
    refusal = _operator_refusal()
    if refusal is not None:
        return refusal
    found = tenant_by_slug(tenant)
    row = audit_log.get(found, event_id) if found is not None else None
    if row is None:
        raise NotFound(f"There is no AuditEvent with the id {event_id[:64]}.")
    return fhir_response(audit_event(row, issuer()))


def _operator_refusal() -> Response | None:
    """401 without a live Torget API token, 403 for one of anyone but an operator; else None."""
    token = status.bearer(request.headers.get("Authorization"))
    user = api_tokens.authenticate(token) if token else None
    if user is None:
        challenge = 'Bearer realm="torget"' + (', error="invalid_token"' if token else "")
        return fhir_response(
            outcome([issue("login", "An operator's Torget API token is required (Bearer).")]),
            401,
            **{"WWW-Authenticate": challenge},
        )
    if not has_role(user, [Role.OPERATOR]):
        return fhir_response(
            outcome([issue("forbidden", "Only an operator may read the audit as AuditEvent.")]),
            403,
        )
    return None


def parse_audit_search(params: list[tuple[str, str]]) -> AuditSearch:
    """The search that (name, value) pairs ask for; SearchRefused naming any other parameter.

    `date` takes ge, le or no prefix (the whole date given) and may repeat (a
    range: `date=ge2026-03-01&date=le2026-03-31`); `_count` is capped at
    MAX_COUNT; `_page` is what the bundle's next link carries.
    """
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    single: dict[str, str] = {}
    for name, value in params:
        if name == "date":
            low, high = _date_bounds(value)
            start = low if start is None or (low is not None and low > start) else start
            end = high if end is None or (high is not None and high < end) else end
        elif name in ("patient", "_count", "_page"):
            if name in single:
                raise SearchRefused(name, f"Give {name} once.")
            single[name] = value
        else:
            raise SearchRefused(
                name, f"{name[:64]} is not a search parameter of AuditEvent here: use "
                "date, patient or _count."
            )  # fmt: skip
    return AuditSearch(
        start=start,
        end=end,
        patient=_patient(single["patient"]) if "patient" in single else None,
        count=min(_number("_count", single["_count"], 0), MAX_COUNT)
        if "_count" in single
        else DEFAULT_COUNT,
        page=_number("_page", single["_page"], 1) if "_page" in single else 1,
    )


def _date_bounds(value: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The (start, end) a `date` value sets: ge a start, le an end, no prefix both."""
    # A '+' of a time zone arrives as a space when the client did not escape it.
    match = _PREFIX.fullmatch(_ZONE_AS_SPACE.sub(r"\1+\2", value.strip()))
    if match is None:
        raise _not_a_date(value)
    prefix = match["prefix"] or "eq"
    if prefix not in ("eq", "ge", "le"):
        raise SearchRefused("date", f"The prefix {prefix} is not supported on date: use ge or le.")
    try:
        low, high = date_range(match["date"])
    except ValueError:
        raise _not_a_date(value) from None
    return (low if prefix != "le" else None), (high if prefix != "ge" else None)


def _not_a_date(value: str) -> SearchRefused:
    return SearchRefused(
        "date",
        f"{value[:64]} is not a date for date: use YYYY, YYYY-MM, YYYY-MM-DD or "
        "YYYY-MM-DDThh:mm(:ss) with a time zone (Z or +hh:mm), after ge or le.",
    )


def _patient(value: str) -> str:
    patient = value.strip().removeprefix("Patient/")
    if not is_fhir_id(patient):
        raise SearchRefused("patient", "patient is a Patient id, like kari or Patient/kari.")
    return patient


def _number(name: str, value: str, least: int) -> int:
    if not _NUMBER.fullmatch(value.strip()) or int(value) < least:
        raise SearchRefused(name, f"{name} is a whole number from {least}.")
    return int(value)


def _bundle(
    slug: str,
    params: list[tuple[str, str]],
    wanted: AuditSearch,
    rows: list[AuditRow],
    total: int,
) -> dict[str, Any]:
    base = fhir_base(slug)
    kept = [(name, value) for name, value in params if name != "_page"]
    links = [{"relation": "self", "url": f"{base}/AuditEvent?{urlencode(params)}".rstrip("?")}]
    if wanted.count and wanted.page * wanted.count < total:
        following = urlencode([*kept, ("_page", str(wanted.page + 1))])
        links.append({"relation": "next", "url": f"{base}/AuditEvent?{following}"})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}/AuditEvent/{row.event.id}",
                "resource": audit_event(row, issuer()),
                "search": {"mode": "match"},
            }
            for row in rows
        ],
    }


def audit_event(row: AuditRow, torget: str) -> dict[str, Any]:
    """One access event as an R4 AuditEvent; `torget` is the issuer, naming the client ids."""
    event = row.event
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(event.id),
        "type": {"system": EVENT_TYPE, "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": INTERACTION, "code": event.interaction}],
        "action": ACTIONS.get(event.interaction, "E"),
        "recorded": event.at.astimezone(dt.UTC).isoformat(timespec="milliseconds"),
        "outcome": _outcome_code(event.outcome, event.status),
        "agent": [_agent(row, torget)],
        "source": {
            "observer": {"display": "Torget"},
            "type": [{"system": SOURCE_TYPE, "code": "4", "display": "Application Server"}],
        },
    }
    if event.detail:
        resource["outcomeDesc"] = event.detail
    entities = _entities(event.patient_id, event.resource_ids or [], event.query)
    if entities:
        resource["entity"] = entities
    return resource


def _outcome_code(event_outcome: str, http_status: int) -> str:
    """0 success, 4 minor failure (a refused or invalid request), 8 serious failure (5xx)."""
    if event_outcome == "allowed" and http_status < 400:
        return "0"
    return "8" if http_status >= 500 else "4"


def _agent(row: AuditRow, torget: str) -> dict[str, Any]:
    event = row.event
    who: dict[str, Any] = {}
    if event.fhir_user:
        who["reference"] = event.fhir_user
    if event.client_id:
        # A SMART client id means something only at its authorization server: Torget's.
        who["identifier"] = {"system": torget, "value": event.client_id}
    if row.application_name:
        who["display"] = row.application_name
    agent: dict[str, Any] = {"requestor": True}
    if who:
        agent["who"] = who
    if event.ip:
        agent["network"] = {"address": event.ip, "type": "2"}  # 2: an IP address
    return agent


def _entities(patient: str | None, ids: list[str], query: str) -> list[dict[str, Any]]:
    """The patient (role 1), each resource returned or written (role 4), the query (role 24)."""
    entities: list[dict[str, Any]] = []
    if patient:
        entities.append(
            {
                "what": {"reference": f"Patient/{patient}"},
                "type": {"system": ENTITY_TYPE, "code": "1", "display": "Person"},
                "role": {"system": OBJECT_ROLE, "code": "1", "display": "Patient"},
            }
        )
    for reference in ids:
        if reference == f"Patient/{patient}":
            continue  # already there, as the patient
        entities.append(
            {
                "what": {"reference": reference},
                "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
                "role": {"system": OBJECT_ROLE, "code": "4", "display": "Domain Resource"},
            }
        )
    if query:
        entities.append(
            {
                "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
                "role": {"system": OBJECT_ROLE, "code": "24", "display": "Query"},
                "query": base64.b64encode(query.encode()).decode("ascii"),
            }
        )
    return entities
