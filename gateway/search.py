"""Running a parsed search against the embedded store's index, within what the token permits.

gateway/search_params.py parses the request and says what each resource
holds for each parameter; this module turns both into one SQL query over
`fhir_resource`, each criterion an `IN (SELECT resource_pk FROM fhir_index …)`.
The permit's patient compartment and scope queries are added as criteria of
their own, so a patient token's search is filtered by the database, not
merely checked: there is no query it can write that reaches another patient.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, false, func, not_, or_, select, true

from gateway.enforcement import SHARED_TYPES, Permit
from gateway.models import FhirIndex, FhirResource, index_value
from gateway.search_params import (
    Criterion,
    IndexEntry,
    Search,
    SearchRefused,
    Value,
    compartment_patient,
    index_entries,
    parse_search,
)
from torget.db import db
from torget.errors import Forbidden

# Page cursors are offsets into one deterministic order (sort keys, then row id).
MAX_OFFSET = 10_000


@dataclass(frozen=True)
class Page:
    matches: list[FhirResource]
    included: list[FhirResource]
    total: int
    next_offset: int | None


def encode_page(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def decode_page(page: str | None) -> int:
    if page is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(page + "=" * (-len(page) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not (text.startswith("o") and text[1:].isdigit() and int(text[1:]) <= MAX_OFFSET):
        raise SearchRefused("_page", "The _page value is not one this server made.")
    return int(text[1:])


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _value_condition(criterion: Criterion, value: Value) -> ColumnElement[bool]:
    """The index rows of `criterion`'s parameter that match one of its values."""
    if criterion.kind == "token":
        condition = FhirIndex.value == index_value(value.value)
        if value.system == "":
            condition = and_(condition, FhirIndex.system.is_(None))
        elif value.system is not None:
            condition = and_(condition, FhirIndex.system == index_value(value.system))
        return condition
    if criterion.kind == "reference":
        condition = FhirIndex.value == index_value(value.value)
        target = value.system or (
            criterion.modifier if criterion.modifier not in (None, "missing") else None
        )
        return and_(condition, FhirIndex.system == target) if target else condition
    if criterion.kind == "string":
        if criterion.modifier == "exact":
            return FhirIndex.system == index_value(value.system)
        text = _escape_like(index_value(value.value) or "")
        pattern = f"%{text}%" if criterion.modifier == "contains" else f"{text}%"
        return FhirIndex.value.like(pattern, escape="\\")
    return _date_condition(FhirIndex.start, FhirIndex.end, value)


def _date_condition(start: Any, end: Any, value: Value) -> ColumnElement[bool]:
    """FHIR date comparison of a stored range [start, end) with the value's range [vs, ve)."""
    vs, ve = value.start, value.end
    match value.prefix:
        case "eq":  # the value's range contains the stored range
            return and_(start >= vs, end <= ve)
        case "ne":
            return or_(start < vs, end > ve)
        case "gt":  # some of the stored range lies after the value's
            return end > ve
        case "lt":
            return start < vs
        case "ge":
            return end > vs
        case "le":
            return start < ve
    raise SearchRefused("date", f"The prefix {value.prefix} is not supported.")


def _criterion_condition(tenant_id: int, resource_type: str, criterion: Criterion) -> Any:
    if criterion.param == "_lastUpdated":
        return or_(*(_instant_condition(FhirResource.last_updated, v) for v in criterion.values))
    rows = select(FhirIndex.resource_pk).where(
        FhirIndex.tenant_id == tenant_id,
        FhirIndex.resource_type == resource_type,
        FhirIndex.param == criterion.param,
    )
    if criterion.modifier == "missing":
        wants_missing = criterion.values[0].value == "true"
        present = FhirResource.id.in_(rows)
        return not_(present) if wants_missing else present
    matching = rows.where(or_(*(_value_condition(criterion, v) for v in criterion.values)))
    if criterion.modifier == "not":
        return FhirResource.id.not_in(matching)
    return FhirResource.id.in_(matching)


def _instant_condition(t: Any, value: Value) -> ColumnElement[bool]:
    """The date comparison for an instant `t` (the store's own `_lastUpdated`)."""
    match value.prefix:
        case "eq":
            return and_(t >= value.start, t < value.end)
        case "ne":
            return or_(t < value.start, t >= value.end)
        case "gt":
            return t >= value.end
        case "lt":
            return t < value.start
        case "ge":
            return t >= value.start
        case _:  # le
            return t < value.end


def _permit_conditions(tenant_id: int, resource_type: str, permit: Permit) -> list[Any]:
    conditions: list[Any] = []
    if permit.patient is not None and resource_type not in SHARED_TYPES:
        conditions.append(FhirResource.patient_id == permit.patient)
    if permit.queries is not None:
        alternatives = []
        for query in permit.queries:
            try:
                scoped = parse_search(resource_type, query)
            except SearchRefused:
                continue  # a scope query this server cannot evaluate grants nothing
            alternatives.append(
                and_(
                    true(),
                    *(_criterion_condition(tenant_id, resource_type, c) for c in scoped.criteria),
                )
            )
        conditions.append(or_(false(), *alternatives))
    return conditions


def _filtered(tenant_id: int, resource_type: str, permit: Permit) -> Any:
    return select(FhirResource).where(
        FhirResource.tenant_id == tenant_id,
        FhirResource.resource_type == resource_type,
        *_permit_conditions(tenant_id, resource_type, permit),
    )


def permitted(resource: FhirResource, permit: Permit) -> bool:
    """Whether one resource (a read, a write) is within `permit`: the same rule as a search's."""
    if permit.queries is None and (
        permit.patient is None or resource.resource_type in SHARED_TYPES
    ):
        return True  # nothing to check: spare the query
    statement = _filtered(resource.tenant_id, resource.resource_type, permit).where(
        FhirResource.id == resource.id
    )
    return db.session.scalar(statement.with_only_columns(FhirResource.id)) is not None


def _sort_key(tenant_id: int, resource_type: str, param: str, descending: bool) -> Any:
    if param == "_lastUpdated":
        return FhirResource.last_updated.desc() if descending else FhirResource.last_updated
    edge = func.max(FhirIndex.start) if descending else func.min(FhirIndex.start)
    key = (
        select(edge)
        .where(FhirIndex.resource_pk == FhirResource.id, FhirIndex.param == param)
        .scalar_subquery()
    )
    return key.desc() if descending else key


def run(
    tenant_id: int, search: Search, permit: Permit,
    include_permits: dict[str, Permit] | None = None,
) -> Page:  # fmt: skip
    """The page of matches `search` asks for, and the resources it includes.

    `include_permits`: per resource type, what an included resource may be;
    a type without one is left out, as is any included resource outside it.
    """
    statement = _filtered(tenant_id, search.resource_type, permit).where(
        *(_criterion_condition(tenant_id, search.resource_type, c) for c in search.criteria)
    )
    total = (
        db.session.scalar(
            select(func.count()).select_from(
                statement.with_only_columns(FhirResource.id).subquery()
            )
        )
        or 0
    )
    offset = decode_page(search.page)
    order = [_sort_key(tenant_id, search.resource_type, p, d) for p, d in search.sort]
    matches: list[FhirResource] = []
    if search.count > 0 and not search.summary_count:
        matches = list(
            db.session.scalars(
                statement.order_by(*order, FhirResource.id).offset(offset).limit(search.count)
            )
        )
    next_offset = offset + search.count
    has_next = search.count > 0 and next_offset < total and next_offset <= MAX_OFFSET
    included = _included(tenant_id, search, matches, include_permits or {})
    return Page(matches, included, total, next_offset if has_next else None)


def _included(
    tenant_id: int, search: Search, matches: list[FhirResource], permits: dict[str, Permit]
) -> list[FhirResource]:
    if not matches or not (search.include or search.revinclude):
        return []
    match_pks = [m.id for m in matches]
    found: dict[int, FhirResource] = {}
    for _source, param, target in search.include:
        # The references the matches hold in `param`, of the target type when named.
        refs = select(FhirIndex.system, FhirIndex.value).where(
            FhirIndex.resource_pk.in_(match_pks), FhirIndex.param == param
        )
        if target:
            refs = refs.where(FhirIndex.system == target)
        pairs = {(t, i) for t, i in db.session.execute(refs) if t and i}
        for resource_type, ids in _by_type(pairs).items():
            permit = permits.get(resource_type)
            if permit is None:
                continue
            rows = _filtered(tenant_id, resource_type, permit).where(
                FhirResource.resource_id.in_(ids)
            )
            found.update((r.id, r) for r in db.session.scalars(rows))
    for source, param, _target in search.revinclude:
        permit = permits.get(source)
        if permit is None:
            continue
        ids = [m.resource_id for m in matches]
        referring = select(FhirIndex.resource_pk).where(
            FhirIndex.tenant_id == tenant_id,
            FhirIndex.resource_type == source,
            FhirIndex.param == param,
            FhirIndex.system == search.resource_type,
            FhirIndex.value.in_(ids),
        )
        rows = _filtered(tenant_id, source, permit).where(FhirResource.id.in_(referring))
        found.update((r.id, r) for r in db.session.scalars(rows.limit(1000)))
    for pk in match_pks:
        found.pop(pk, None)
    return list(found.values())


def _by_type(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for resource_type, resource_id in pairs:
        grouped.setdefault(resource_type, []).append(resource_id)
    return grouped


# --- the same rules in Python, for resources that did not come from the index ----------------


def within(content: dict[str, Any], permit: Permit) -> bool:
    """Whether a resource (a body to write, an upstream server's answer) is inside `permit`.

    The same rule as the SQL above: the patient compartment (types outside
    every compartment excepted), then one of the scope queries, if any.
    """
    resource_type = content.get("resourceType", "")
    try:
        if (
            permit.patient is not None
            and resource_type not in SHARED_TYPES
            and compartment_patient(content) != permit.patient
        ):
            return False
        if permit.queries is None:
            return True
        entries = index_entries(content)
    except (ValueError, TypeError, AttributeError):
        return False  # a resource the index cannot read is not shown to a narrowed permit
    for query in permit.queries:
        try:
            scoped = parse_search(resource_type, query)
        except SearchRefused:
            continue
        if all(_entries_match(entries, c) for c in scoped.criteria):
            return True
    return False


def require_within(content: dict[str, Any], permit: Permit) -> None:
    """A write must land inside the permit: a patient token writes only its patient's data."""
    if not within(content, permit):
        raise Forbidden(
            _("The granted scopes do not allow writing this %(type)s here.",
              type=content.get("resourceType", ""))
        )  # fmt: skip


def _entries_match(entries: list[IndexEntry], criterion: Criterion) -> bool:
    mine = [e for e in entries if e.param == criterion.param]
    if criterion.modifier == "missing":
        return (not mine) == (criterion.values[0].value == "true")
    hit = any(_entry_matches(e, criterion, v) for e in mine for v in criterion.values)
    return not hit if criterion.modifier == "not" else hit


def _entry_matches(entry: IndexEntry, criterion: Criterion, value: Value) -> bool:
    if criterion.kind == "token":
        if entry.value != index_value(value.value):
            return False
        if value.system == "":
            return entry.system is None
        return value.system is None or entry.system == index_value(value.system)
    if criterion.kind == "reference":
        target = value.system or (
            criterion.modifier if criterion.modifier not in (None, "missing") else None
        )
        return entry.value == index_value(value.value) and (not target or entry.system == target)
    if criterion.kind == "string":
        if criterion.modifier == "exact":
            return entry.system == index_value(value.system)
        text, wanted = entry.value or "", index_value(value.value) or ""
        return wanted in text if criterion.modifier == "contains" else text.startswith(wanted)
    start, end, vs, ve = entry.start, entry.end, value.start, value.end
    if None in (start, end, vs, ve):
        return False
    match value.prefix:
        case "eq":
            return start >= vs and end <= ve
        case "ne":
            return start < vs or end > ve
        case "gt":
            return end > ve
        case "lt":
            return start < vs
        case "ge":
            return end > vs
        case _:
            return start < ve
