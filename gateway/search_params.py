"""FHIR search parameters: what a resource says for each, and the parsed form of a request.

The two pure halves of the gateway's search, with no database and no Flask:

* `index_entries` reads a resource the way each supported parameter's FHIR R4 FHIRPath does
  (written by hand, simply, for the supported types), giving the rows the store indexes;
* `parse_search` turns a request's decoded (name, value) pairs into a validated `Search`, or
  refuses it with `SearchRefused` naming the parameter.

Dates on both sides are ranges [start, end) in aware UTC (`date_range`). Strings on both
sides are compared through `normalize`, FHIR's case- and accent-insensitive form: Norwegian
"Åse" becomes "ase" (å decomposes into a and a ring, and the ring is an accent), while ø
and æ have no decomposition and stay themselves ("Ørjan" becomes "ørjan").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

MAX_COUNT = 100
DEFAULT_COUNT = 20
MAX_CRITERIA = 30
MAX_VALUE_LENGTH = 1000
# No supported name comes near this; a longer one is refused rather than echoed back.
MAX_NAME_LENGTH = 100

# The ends of an open Period (and of values at the edge of the calendar).
START_OF_TIME = datetime.min.replace(tzinfo=UTC)
END_OF_TIME = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class IndexEntry:
    """What a resource says for one search parameter: one row of the store's index."""

    param: str  # e.g. "code"
    kind: str  # "token" | "string" | "date" | "reference"
    # Tokens: the coding or identifier system; references: the target type ("Patient");
    # strings: the text as written, for :exact (which is case- and accent-sensitive).
    system: str | None = None
    # Tokens: the code, identifier value or id; strings: normalize(text); references: the id.
    value: str | None = None
    start: datetime | None = None  # dates: the start of the value's range (aware UTC)
    end: datetime | None = None  # dates: the exclusive end of the value's range


class SearchRefused(Exception):
    """A search the gateway will not run; `message` is plain English naming the parameter."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


@dataclass(frozen=True)
class Value:
    """One of a criterion's OR-ed values."""

    prefix: str = "eq"  # dates: eq, ne, gt, lt, ge, le; other kinds: eq
    # Tokens: `system|code` -> system, `|code` -> "" (no system), `code` -> None (any system);
    # references: the target type (None: any); strings: the text as given, for :exact.
    system: str | None = None
    # Tokens: the code or id; references: the id; strings: normalize(text);
    # :missing: "true" or "false".
    value: str | None = None
    start: datetime | None = None  # dates: date_range of the value
    end: datetime | None = None


@dataclass(frozen=True)
class Criterion:
    """One search parameter of the request: its values are OR-ed, criteria are AND-ed."""

    param: str  # "code", "_lastUpdated", "patient", ...
    kind: str  # as IndexEntry.kind
    modifier: str | None  # "exact", "contains", "missing", "not", or a reference's type
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Search:
    """A parsed, validated search request."""

    resource_type: str
    criteria: tuple[Criterion, ...]
    count: int
    sort: tuple[tuple[str, bool], ...]  # (param, descending)
    include: tuple[tuple[str, str, str | None], ...]  # (source type, param, target or None)
    revinclude: tuple[tuple[str, str, str | None], ...]
    summary_count: bool
    page: str | None
    ignored: tuple[str, ...]  # parameters dropped under handling=lenient


# --- Dates ---------------------------------------------------------------------------------

_DATE = re.compile(
    r"(?P<year>[0-9]{4})(?:-(?P<month>[0-9]{2})(?:-(?P<day>[0-9]{2})"
    r"(?:T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,9}))?)?"
    r"(?P<zone>Z|[+-][0-9]{2}:[0-9]{2}))?)?)?"
)


def date_range(value: str) -> tuple[datetime, datetime]:
    """The range [start, end) in UTC that a FHIR date, dateTime or instant stands for.

    The precision sets the width: `2026` is the whole year, `2026-11-04` the whole day (in
    UTC: a date has no zone), `2026-11-04T10:00Z` the minute. A time needs a zone, as FHIR
    requires. Raises ValueError on anything else.
    """
    match = _DATE.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD, or a time)")
    year, month, day = int(match["year"]), int(match["month"] or 1), int(match["day"] or 1)
    if match["hour"] is None:
        start = datetime(year, month, day, tzinfo=UTC)
        if match["day"] is not None:
            return start, _plus(start, timedelta(days=1))
        if match["month"] is not None:
            return start, _month_start(year, month + 1)
        return start, _month_start(year + 1, 1)
    second = int(match["second"] or 0)
    if second > 60:  # 60 is a leap second, which FHIR allows
        raise ValueError(f"{value!r} has no such second")
    fraction = match["fraction"] or ""
    if match["second"] is None:
        width = timedelta(minutes=1)
    else:
        width = timedelta(microseconds=10 ** max(6 - len(fraction), 0))
    local = datetime(
        year, month, day, int(match["hour"]), int(match["minute"]), tzinfo=_zone(match["zone"])
    )
    try:
        start = (
            local + timedelta(seconds=second, microseconds=int(fraction[:6].ljust(6, "0")))
        ).astimezone(UTC)
    except OverflowError as error:
        raise ValueError(f"{value!r} is outside the calendar") from error
    return start, _plus(start, width)


def _zone(text: str) -> timezone:
    if text == "Z":
        return UTC
    hours, minutes = int(text[1:3]), int(text[4:6])
    if minutes > 59 or hours * 60 + minutes > 14 * 60:
        raise ValueError(f"{text} is not a time zone")
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if text[0] == "-" else offset)


def _month_start(year: int, month: int) -> datetime:
    if month > 12:
        year, month = year + 1, 1
    # The calendar ends in year 9999: the range of its last month runs to the end of time.
    return datetime(year, month, 1, tzinfo=UTC) if year <= 9999 else END_OF_TIME


def _plus(start: datetime, width: timedelta) -> datetime:
    try:
        return start + width
    except OverflowError:
        return END_OF_TIME


# --- Strings -------------------------------------------------------------------------------


def normalize(text: str) -> str:
    """`text` as FHIR string search compares it: casefolded, accents dropped, spaces collapsed.

    Å loses its ring (Åse -> ase); ø and æ stay (they have no decomposition).
    """
    # Decomposing before and after casefolding: either step can bring out accents.
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    bare = "".join(char for char in folded if not unicodedata.combining(char))
    return " ".join(bare.split())


# --- What each parameter reads from a resource ---------------------------------------------

_Extract = Callable[[str, dict[str, Any]], Iterator[IndexEntry]]


@dataclass(frozen=True)
class _Param:
    kind: str
    extract: _Extract
    targets: tuple[str, ...] = ()  # references: the types it may point to (FHIR R4)


def _items(element: dict[str, Any], name: str) -> list[Any]:
    """An element's field as a list, whether FHIR makes it repeat or not."""
    value = element.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _token(*fields: str) -> _Param:
    """Codes, Codings of CodeableConcepts, and Identifiers in `fields`."""

    def extract(param: str, resource: dict[str, Any]) -> Iterator[IndexEntry]:
        for name in fields:
            for item in _items(resource, name):
                if isinstance(item, str):  # a plain code: status, gender, ...
                    yield IndexEntry(param, "token", value=item)
                elif isinstance(item, dict):
                    if isinstance(item.get("value"), str):  # an Identifier
                        yield IndexEntry(param, "token", item.get("system"), item["value"])
                    for coding in _items(item, "coding"):  # a CodeableConcept
                        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                            yield IndexEntry(param, "token", coding.get("system"), coding["code"])

    return _Param("token", extract)


def _string_entry(param: str, text: Any) -> Iterator[IndexEntry]:
    if isinstance(text, str) and normalize(text):
        yield IndexEntry(param, "string", system=text, value=normalize(text))


def _string(*fields: str) -> _Param:
    """Plain string fields (Organization.name, .alias)."""

    def extract(param: str, resource: dict[str, Any]) -> Iterator[IndexEntry]:
        for name in fields:
            for text in _items(resource, name):
                yield from _string_entry(param, text)

    return _Param("string", extract)


def _human_name(*parts: str) -> _Param:
    """Parts of each HumanName in `name`, each indexed on its own so `kar` finds "Kari"."""

    def extract(param: str, resource: dict[str, Any]) -> Iterator[IndexEntry]:
        for name in _items(resource, "name"):
            if isinstance(name, dict):
                for part in parts:
                    for text in _items(name, part):
                        yield from _string_entry(param, text)

    return _Param("string", extract)


def _date(*fields: str) -> _Param:
    """dates, dateTimes, instants and Periods in `fields`; a Period's open end is unbounded."""

    def extract(param: str, resource: dict[str, Any]) -> Iterator[IndexEntry]:
        for name in fields:
            value = resource.get(name)
            if isinstance(value, str):
                start, end = date_range(value)
                yield IndexEntry(param, "date", start=start, end=end)
            elif isinstance(value, dict) and ("start" in value or "end" in value):
                start = date_range(value["start"])[0] if "start" in value else START_OF_TIME
                end = date_range(value["end"])[1] if "end" in value else END_OF_TIME
                yield IndexEntry(param, "date", start=start, end=end)

    return _Param("date", extract)


_LOCAL_REFERENCE = re.compile(
    r"(?P<type>[A-Z][A-Za-z]{0,63})/(?P<id>[A-Za-z0-9.-]{1,64})(?:/_history/[A-Za-z0-9.-]{1,64})?"
)


def _reference(name: str, *targets: str) -> _Param:
    """Local references (`Type/id`) in field `name` to one of `targets`.

    Absolute and contained references point at nothing in this store: no entry.
    """

    def extract(param: str, resource: dict[str, Any]) -> Iterator[IndexEntry]:
        for item in _items(resource, name):
            reference = item.get("reference") if isinstance(item, dict) else None
            match = _LOCAL_REFERENCE.fullmatch(reference) if isinstance(reference, str) else None
            if match and match["type"] in targets:
                yield IndexEntry(param, "reference", match["type"], match["id"])

    return _Param("reference", extract, targets)


def _resource_id(param: str, resource: dict[str, Any]) -> Iterator[IndexEntry]:
    if isinstance(resource.get("id"), str):
        yield IndexEntry(param, "token", value=resource["id"])


def _nothing(param: str, resource: dict[str, Any]) -> Iterator[IndexEntry]:
    # _lastUpdated is the store's own column, not something the resource says.
    yield from ()


_COMMON = {"_id": _Param("token", _resource_id), "_lastUpdated": _Param("date", _nothing)}
_IDENTIFIER = _token("identifier")
_STATUS = _token("status")
_CATEGORY = _token("category")
_CODE = _token("code")
_CLINICAL_STATUS = _token("clinicalStatus")
_PATIENT_SUBJECT = _reference("subject", "Patient")
_PERSON_NAMES = {
    "identifier": _IDENTIFIER,
    "name": _human_name("family", "given", "text"),
    "family": _human_name("family"),
    "given": _human_name("given"),
}

_PARAMETERS: dict[str, dict[str, _Param]] = {
    "Patient": {
        **_PERSON_NAMES,
        "birthdate": _date("birthDate"),
        "gender": _token("gender"),
    },
    "Practitioner": _PERSON_NAMES,
    "Encounter": {
        "identifier": _IDENTIFIER,
        "status": _STATUS,
        "date": _date("period"),
        "patient": _PATIENT_SUBJECT,
        "subject": _reference("subject", "Patient", "Group"),
    },
    "Observation": {
        "identifier": _IDENTIFIER,
        "status": _STATUS,
        "code": _CODE,
        "category": _CATEGORY,
        "date": _date("effectiveDateTime", "effectivePeriod", "effectiveInstant"),
        "patient": _PATIENT_SUBJECT,
        "subject": _reference("subject", "Patient", "Group", "Device", "Location"),
    },
    "Condition": {
        "code": _CODE,
        "category": _CATEGORY,
        "clinical-status": _CLINICAL_STATUS,
        "patient": _PATIENT_SUBJECT,
        "subject": _reference("subject", "Patient", "Group"),
    },
    "AllergyIntolerance": {
        "code": _CODE,
        "category": _CATEGORY,
        "clinical-status": _CLINICAL_STATUS,
        "patient": _reference("patient", "Patient"),
    },
    "MedicationStatement": {
        "code": _token("medicationCodeableConcept"),
        "status": _STATUS,
        "effective": _date("effectiveDateTime", "effectivePeriod"),
        "patient": _PATIENT_SUBJECT,
        "subject": _reference("subject", "Patient", "Group"),
    },
    "EpisodeOfCare": {
        "identifier": _IDENTIFIER,
        "status": _STATUS,
        "date": _date("period"),
        "patient": _reference("patient", "Patient"),
        "organization": _reference("managingOrganization", "Organization"),
    },
    "CarePlan": {
        "identifier": _IDENTIFIER,
        "category": _CATEGORY,
        "status": _STATUS,
        "date": _date("period"),
        "patient": _PATIENT_SUBJECT,
        "subject": _reference("subject", "Patient", "Group"),
    },
    "ServiceRequest": {
        "identifier": _IDENTIFIER,
        "code": _CODE,
        "category": _CATEGORY,
        "status": _STATUS,
        "authored": _date("authoredOn"),
        "patient": _PATIENT_SUBJECT,
        "subject": _reference("subject", "Patient", "Group", "Location", "Device"),
    },
    "Organization": {
        "identifier": _IDENTIFIER,
        "name": _string("name", "alias"),
    },
}

SUPPORTED_TYPES: tuple[str, ...] = tuple(_PARAMETERS)


def _searchable(resource_type: str) -> dict[str, _Param]:
    if resource_type not in _PARAMETERS:
        raise ValueError(f"{resource_type!r} is not a resource type the gateway holds")
    return {**_COMMON, **_PARAMETERS[resource_type]}


def supported_parameters(resource_type: str) -> dict[str, str]:
    """The search parameters of `resource_type`, name -> kind (for the CapabilityStatement)."""
    return {name: param.kind for name, param in _searchable(resource_type).items()}


def index_entries(resource: dict[str, Any]) -> list[IndexEntry]:
    """What `resource` says for each search parameter of its type, without duplicates.

    Raises ValueError for a type the gateway does not hold, or a date that is no FHIR date.
    """
    parameters = _searchable(resource.get("resourceType", ""))
    entries = (
        entry for name, param in parameters.items() for entry in param.extract(name, resource)
    )
    return list(dict.fromkeys(entries))


def compartment_patient(resource: dict[str, Any]) -> str | None:
    """The id of the Patient whose compartment `resource` is in, or None."""
    resource_type = resource.get("resourceType", "")
    if resource_type == "Patient":
        return resource.get("id")
    param = _searchable(resource_type).get("patient")
    if param is None:
        return None
    return next((entry.value for entry in param.extract("patient", resource)), None)


# --- Parsing a request ---------------------------------------------------------------------

_ID = re.compile(r"[A-Za-z0-9.-]{1,64}")
_REFERENCE_VALUE = re.compile(r"(?:(?P<type>[A-Z][A-Za-z]{0,63})/)?(?P<id>[A-Za-z0-9.-]{1,64})")
_PAGE = re.compile(r"[A-Za-z0-9_-]{1,1000}")
_PREFIXED = re.compile(r"(?P<prefix>[a-z]{2})(?P<date>.*)", re.DOTALL)
_DATE_PREFIXES = frozenset({"eq", "ne", "gt", "lt", "ge", "le"})
_UNSUPPORTED_PREFIXES = frozenset({"sa", "eb", "ap"})
# An unencoded "+" in a query string arrives decoded as a space: "…T10:00:00 01:00".
_ZONE_AS_SPACE = re.compile(r"(T[0-9:.]+) ([0-9]{2}:[0-9]{2})")
_MODIFIERS = {"string": {"exact", "contains"}, "token": {"not"}, "date": set()}
_REFUSED = frozenset({"_has", "_filter", "_query", "_text", "_content", "_list"})
_JSON_FORMATS = frozenset(
    {"json", "application/json", "application/fhir+json", "application/fhir json"}
)
_ESCAPE = re.compile(r"\\(.?)", re.DOTALL)


@dataclass
class _Draft:
    """A search being parsed: what the parameters so far have said."""

    resource_type: str
    criteria: list[Criterion] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    sort: tuple[tuple[str, bool], ...] = ()
    include: list[tuple[str, str, str | None]] = field(default_factory=list)
    revinclude: list[tuple[str, str, str | None]] = field(default_factory=list)
    summary_count: bool = False
    page: str | None = None
    ignored: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # single-valued result parameters given


def parse_search(
    resource_type: str, params: Iterable[tuple[str, str]], *, lenient: bool = False
) -> Search:
    """The validated search that decoded (name, value) pairs ask for, in request order.

    Unknown parameters are refused, or under `lenient` (Prefer: handling=lenient) dropped
    into `ignored`; errors in a supported parameter are refused either way. Raises
    ValueError for a resource type the gateway does not hold, and otherwise only
    SearchRefused, whatever the input.
    """
    parameters = _searchable(resource_type)
    draft = _Draft(resource_type)
    for name, value in params:
        _check_text(name, value)
        base, colon, modifier = name.partition(":")
        if base in _REFUSED:
            raise SearchRefused(name, f"The parameter {base} is not supported by this server.")
        if "." in name:
            raise SearchRefused(name, f"Chained parameters ({name}) are not supported.")
        if base in _RESULT_PARAMETERS:
            _result_parameter(draft, base, modifier if colon else None, value)
        elif base in parameters:
            draft.criteria.append(
                _criterion(name, base, modifier if colon else None, value, parameters[base])
            )
            if len(draft.criteria) > MAX_CRITERIA:
                raise SearchRefused(name, f"A search takes at most {MAX_CRITERIA} parameters.")
        elif lenient:
            draft.ignored.append(name)
        else:
            raise SearchRefused(
                name, f"The parameter {name} is not a search parameter of {resource_type}."
            )
    return Search(
        resource_type=resource_type,
        criteria=tuple(draft.criteria),
        count=draft.count,
        sort=draft.sort,
        include=tuple(draft.include),
        revinclude=tuple(draft.revinclude),
        summary_count=draft.summary_count,
        page=draft.page,
        ignored=tuple(draft.ignored),
    )


def _check_text(name: str, value: str) -> None:
    """Refuse overlong text and control characters (PostgreSQL text cannot hold NUL)."""
    if len(name) > MAX_NAME_LENGTH:
        raise SearchRefused(name[:MAX_NAME_LENGTH] + "…", "The parameter name is too long.")
    if len(value) > MAX_VALUE_LENGTH:
        raise SearchRefused(
            name, f"The value of {name} is longer than {MAX_VALUE_LENGTH} characters."
        )
    for text, what in ((name, "name"), (value, "value")):
        if any(unicodedata.category(char) in ("Cc", "Cs") for char in text):
            raise SearchRefused(name, f"The parameter {what} contains a control character.")


def _split(text: str, separator: str) -> list[str]:
    """`text` split on each `separator` that is not escaped; escapes stay for `_unescape`."""
    parts: list[str] = []
    start = index = 0
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == separator:
            parts.append(text[start:index])
            start = index + 1
        index += 1
    parts.append(text[start:])
    return parts


def _unescape(name: str, text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match[1] not in {",", "|", "$", "\\"}:
            raise SearchRefused(
                name, f'In {name}, a backslash may only escape ",", "|", "$" or "\\".'
            )
        return match[1]

    return _ESCAPE.sub(replace, text)


# --- Criteria ------------------------------------------------------------------------------


def _criterion(name: str, base: str, modifier: str | None, text: str, param: _Param) -> Criterion:
    """The criterion of parameter `base`, written `name` (with its modifier) in the request."""
    allowed = set(param.targets) if param.kind == "reference" else _MODIFIERS[param.kind]
    if modifier is not None and modifier != "missing" and modifier not in allowed:
        raise SearchRefused(name, f"The modifier :{modifier} is not supported on {base}.")
    items = _split(text, ",")
    if "" in items:
        raise SearchRefused(name, f"The parameter {name} has an empty value.")
    if modifier == "missing":
        parse = _missing_value
    elif base == "_id":
        parse = _id_value
    else:
        parse = _VALUE_PARSERS[param.kind]
    values = tuple(parse(name, modifier, item, param) for item in items)
    return Criterion(base, param.kind, modifier, values)


def _missing_value(name: str, modifier: str | None, item: str, param: _Param) -> Value:
    if item not in ("true", "false"):
        raise SearchRefused(name, f"{name} takes true or false.")
    return Value(value=item)


def _id_value(name: str, modifier: str | None, item: str, param: _Param) -> Value:
    # _id is a token, but only ever a resource's id: no system, no escapes.
    if not _ID.fullmatch(item):
        raise SearchRefused(name, f"{item} is not a resource id.")
    return Value(value=item)


def _string_value(name: str, modifier: str | None, item: str, param: _Param) -> Value:
    text = _unescape(name, item)
    if not normalize(text):
        raise SearchRefused(name, f"The parameter {name} has an empty value.")
    return Value(system=text, value=normalize(text))


def _token_value(name: str, modifier: str | None, item: str, param: _Param) -> Value:
    parts = [_unescape(name, part) for part in _split(item, "|")]
    if len(parts) == 1:
        return Value(value=parts[0])
    if len(parts) > 2 or parts == ["", ""]:
        raise SearchRefused(name, f"A value of {name} is code, system|code, |code or system|.")
    system, code = parts
    return Value(system=system, value=code or None)


def _reference_value(name: str, modifier: str | None, item: str, param: _Param) -> Value:
    match = _REFERENCE_VALUE.fullmatch(_unescape(name, item))
    if match is None:
        raise SearchRefused(name, f"A value of {name} is an id or Type/id on this server.")
    if match["type"] and modifier and match["type"] != modifier:
        raise SearchRefused(name, f"{item} is not a {modifier}, as {name}:{modifier} asks.")
    # A parameter that can point at only one type says which type a plain id is.
    only = param.targets[0] if len(param.targets) == 1 else None
    target = match["type"] or modifier or only
    if target is not None and target not in param.targets:
        raise SearchRefused(name, f"{name} does not refer to a {target}.")
    return Value(system=target, value=match["id"])


def _date_value(name: str, modifier: str | None, item: str, param: _Param) -> Value:
    text = _ZONE_AS_SPACE.sub(r"\1+\2", _unescape(name, item))
    prefix = "eq"
    prefixed = _PREFIXED.fullmatch(text)
    if prefixed:
        prefix, text = prefixed["prefix"], prefixed["date"]
        if prefix in _UNSUPPORTED_PREFIXES:
            raise SearchRefused(
                name, f"The prefix {prefix} is not supported on {name}: use eq, ne, gt, lt, ge, le."
            )
        if prefix not in _DATE_PREFIXES:
            raise SearchRefused(name, f"{prefix} is not a prefix of {name}.")
    try:
        start, end = date_range(text)
    except ValueError as error:
        raise SearchRefused(
            name,
            f"{item} is not a date for {name}: use YYYY, YYYY-MM, YYYY-MM-DD or "
            "YYYY-MM-DDThh:mm(:ss) with a time zone (Z or +hh:mm).",
        ) from error
    return Value(prefix=prefix, start=start, end=end)


_VALUE_PARSERS: dict[str, Callable[[str, str | None, str, _Param], Value]] = {
    "string": _string_value,
    "token": _token_value,
    "reference": _reference_value,
    "date": _date_value,
}


# --- Result parameters ---------------------------------------------------------------------


def _result_parameter(draft: _Draft, name: str, modifier: str | None, value: str) -> None:
    if modifier is not None:
        raise SearchRefused(f"{name}:{modifier}", f"{name} takes no modifier.")
    if name not in ("_include", "_revinclude"):
        if name in draft.seen:
            raise SearchRefused(name, f"The parameter {name} is given more than once.")
        draft.seen.add(name)
    _RESULT_PARAMETERS[name](draft, value)


def _count(draft: _Draft, value: str) -> None:
    if not re.fullmatch(r"[0-9]+", value):
        raise SearchRefused("_count", "_count is a whole number, 0 or more.")
    draft.count = min(int(value), MAX_COUNT)


def _sort(draft: _Draft, value: str) -> None:
    sortable = {"_lastUpdated"} | ({"date"} & set(_PARAMETERS[draft.resource_type]))
    keys: list[tuple[str, bool]] = []
    for item in value.split(","):
        key = item.removeprefix("-")
        if key not in sortable:
            raise SearchRefused(
                "_sort", f"{draft.resource_type} sorts by {', '.join(sorted(sortable))} only."
            )
        if key in (seen for seen, _ in keys):
            raise SearchRefused("_sort", f"_sort names {key} more than once.")
        keys.append((key, item.startswith("-")))
    draft.sort = tuple(keys)


def _include_spec(name: str, value: str) -> tuple[str, str, str | None, _Param]:
    """`Type:param[:target]` checked against the reference parameters, with the parameter."""
    parts = value.split(":")
    if len(parts) not in (2, 3) or "" in parts:
        raise SearchRefused(name, f"{name} is Type:parameter or Type:parameter:TargetType.")
    source, param_name = parts[0], parts[1]
    target = parts[2] if len(parts) == 3 else None
    param = _PARAMETERS.get(source, {}).get(param_name)
    if param is None or param.kind != "reference":
        raise SearchRefused(name, f"{source}:{param_name} is not a reference parameter here.")
    if target is not None and target not in param.targets:
        raise SearchRefused(name, f"{source}:{param_name} does not refer to a {target}.")
    return source, param_name, target, param


def _include(draft: _Draft, value: str) -> None:
    source, param_name, target, _param = _include_spec("_include", value)
    if source != draft.resource_type:
        raise SearchRefused(
            "_include", f"_include names {draft.resource_type} parameters only, not {source}."
        )
    if (source, param_name, target) not in draft.include:
        draft.include.append((source, param_name, target))


def _revinclude(draft: _Draft, value: str) -> None:
    source, param_name, target, param = _include_spec("_revinclude", value)
    if draft.resource_type not in param.targets or target not in (None, draft.resource_type):
        raise SearchRefused(
            "_revinclude", f"{source}:{param_name} does not refer to a {draft.resource_type}."
        )
    if (source, param_name, target) not in draft.revinclude:
        draft.revinclude.append((source, param_name, target))


def _summary(draft: _Draft, value: str) -> None:
    if value not in ("count", "false"):
        raise SearchRefused("_summary", "_summary takes count (or false) only.")
    draft.summary_count = value == "count"


def _total(draft: _Draft, value: str) -> None:
    # A hint FHIR lets a server ignore, and this one does; only its values are checked.
    if value not in ("none", "estimate", "accurate"):
        raise SearchRefused("_total", "_total is none, estimate or accurate.")


def _format(draft: _Draft, value: str) -> None:
    if value not in _JSON_FORMATS:
        raise SearchRefused("_format", "This server speaks JSON only: _format=json.")


def _page(draft: _Draft, value: str) -> None:
    if not _PAGE.fullmatch(value):
        raise SearchRefused("_page", "_page is not a page of this server's results.")
    draft.page = value


_RESULT_PARAMETERS: dict[str, Callable[[_Draft, str], None]] = {
    "_count": _count,
    "_sort": _sort,
    "_include": _include,
    "_revinclude": _revinclude,
    "_summary": _summary,
    "_total": _total,
    "_format": _format,
    "_page": _page,
}


# --- Compartments --------------------------------------------------------------------------


def references_to_patient(search: Search) -> set[str] | None:
    """The patient ids `search` restricts itself to, or None when it does not restrict.

    A criterion restricts when all its values name Patients: `patient`, `subject` with
    Patient references, or `_id` on Patient. Several restricting criteria are AND-ed, so
    their sets intersect (an empty set: the search matches no one's data).
    """
    restriction: set[str] | None = None
    for criterion in search.criteria:
        ids = _patient_ids(search.resource_type, criterion)
        if ids is not None:
            restriction = ids if restriction is None else restriction & ids
    return restriction


def _patient_ids(resource_type: str, criterion: Criterion) -> set[str] | None:
    # :missing and :not widen rather than restrict; a type modifier other than Patient
    # points away from patients.
    if criterion.modifier not in (None, "Patient"):
        return None
    ids = {value.value for value in criterion.values if value.value is not None}
    if resource_type == "Patient" and criterion.param == "_id":
        return ids
    if criterion.param in ("patient", "subject") and all(
        value.system == "Patient" for value in criterion.values
    ):
        return ids
    return None
