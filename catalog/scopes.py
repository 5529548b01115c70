"""SMART App Launch 2.2 scopes: parse, check against the app's audience, intersect, explain.

The grammar is the one of
https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html:

- resource scopes `<context>/<resource>.<permissions>[?<query>]`: context
  `patient`, `user` or `system`; a FHIR R4 resource type or `*`; permissions a
  non-empty subset of `cruds` in that order; an optional query of
  `param=value` pairs joined by `&` that narrows the scope. The v1 permissions
  `read`, `write` and `*` are accepted as `rs`, `cud` and `cruds`, and their
  text is kept: the spec says to answer a granted v1 scope in v1;
- the non-resource scopes in `NAMED_SCOPES`.

Anything else is refused, including SMART's extension scopes (`launch/<type>`
for other types, full URIs, `__name`): no part of Torget serves them.

The catalog validates what a release requests and explains it to people; the
authorization server grants `requested ∩ registered ∩ approved ∩ role-allowed ∩
context-allowed` with `intersect`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import TypeAlias
from urllib.parse import parse_qsl, quote

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from catalog.fhir_types import RESOURCE_TYPES
from torget.errors import Invalid

# RFC 6749 §3.3 leaves the size open; these bound the work a request can cause.
MAX_SCOPES = 100
MAX_LENGTH = 2000

WILDCARD = "*"
PERMISSIONS = "cruds"
WRITE_PERMISSIONS = frozenset("cud")
NAMED_SCOPES = (
    "openid",
    "fhirUser",
    "profile",
    "launch",
    "launch/patient",
    "launch/encounter",
    "offline_access",
    "online_access",
)
# Torget's own named scope for a journal system (EPJ): create EHR launch contexts
# at /oauth/launch. A backend service's scope, registered and approved like any.
JOURNAL_LAUNCH = "system/launch"
SYSTEM_NAMED_SCOPES = (JOURNAL_LAUNCH,)

_RESOURCE_TYPES = frozenset(RESOURCE_TYPES)
# SMART 2.2 §"Scopes for requesting clinical data": how v1 permissions read in v2.
_V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
# A subset of "cruds", in order, without repeats. ".sr" and ".rr" are refused,
# not repaired: the spec allows refusing out-of-order interactions so that no
# server guesses (its example: reading ".read" as ".rd" would grant delete).
_V2_PERMISSIONS = re.compile(r"c?r?u?d?s?")
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
# A FHIR search parameter, with the modifiers (`code:in`) and chains
# (`patient.birthdate`) SMART lists as experimental.
_QUERY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]*")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Left unescaped in canonical text so that it reads as the spec's examples do
# (`category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory`);
# `&`, `=`, `+`, `%`, `#` and `?` are escaped, since they would change the parse.
_QUERY_SAFE = "!$'()*,/:;@|~"
_SHOWN_LENGTH = 80


class Context(StrEnum):
    """Whose data a resource scope reaches (SMART keeps the three apart)."""

    PATIENT = "patient"  # the one patient in the launch context
    USER = "user"  # whatever the signed-in user may see
    SYSTEM = "system"  # a backend service's own access, no user


class Audience(StrEnum):
    """Who an app is for, as a release declares it."""

    CLINICIAN = "clinician"
    PATIENT = "patient"
    BACKEND = "backend"


Query: TypeAlias = tuple[tuple[str, str], ...]


@dataclasses.dataclass(frozen=True)
class ResourceScope:
    """Access to FHIR resources: `<context>/<resource>.<permissions>[?<query>]`.

    Two scopes are equal when they grant the same: `text` (as written, v1 or
    v2) takes no part, permissions are kept in `cruds` order and the query
    sorted and without repeats, since `a=1&b=2` and `b=2&a=1` narrow alike.
    The query holds decoded `(name, value)` pairs.
    """

    context: Context
    resource: str
    permissions: str
    query: Query = ()
    text: str = dataclasses.field(default="", compare=False)

    def __post_init__(self) -> None:
        # Frozen: normalise through object.__setattr__, once, at construction.
        object.__setattr__(self, "context", Context(self.context))
        permissions = "".join(p for p in PERMISSIONS if p in self.permissions)
        object.__setattr__(self, "permissions", permissions)
        object.__setattr__(self, "query", tuple(sorted(set(self.query))))
        if not self.text:
            object.__setattr__(self, "text", self.canonical)

    @property
    def canonical(self) -> str:
        """The v2 text: permissions as `cruds` letters, the query sorted and escaped."""
        base = f"{self.context}/{self.resource}.{self.permissions}"
        if not self.query:
            return base
        pairs = (f"{quote(n, _QUERY_SAFE)}={quote(v, _QUERY_SAFE)}" for n, v in self.query)
        return base + "?" + "&".join(pairs)

    def __str__(self) -> str:
        return self.text


@dataclasses.dataclass(frozen=True)
class NamedScope:
    """A scope that is not about resources: identity, launch context, refresh tokens."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in NAMED_SCOPES and self.name not in SYSTEM_NAMED_SCOPES:
            raise ValueError(f"not a named SMART scope: {self.name!r}")

    @property
    def text(self) -> str:
        return self.name

    @property
    def canonical(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name


Scope: TypeAlias = ResourceScope | NamedScope
# StrEnum members hash as their values, so plain text finds them here.
_CONTEXTS = frozenset(Context)


def _shown(text: str) -> str:
    """`text` fit to quote in a message: control characters escaped, long text cut."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if len(shown) > _SHOWN_LENGTH:
        return shown[: _SHOWN_LENGTH - 1] + "…"
    return shown


def _parse_query(query: str) -> Query | None:
    """The `(name, value)` pairs of a scope's query, or None when it is not one."""
    if not query or _BAD_PERCENT.search(query):
        return None
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    for name, value in pairs:
        if not _QUERY_NAME.fullmatch(name) or not value or not value.isprintable():
            return None
    return tuple(pairs)


def parse_scope(text: str, *, field: str = "scope") -> Scope:
    """One scope, parsed; raises `Invalid` naming it when it is not a SMART scope we serve."""

    def refuse(message: str) -> Invalid:
        return Invalid(message, field=field)

    if not text:
        raise refuse(_("Enter at least one scope."))
    scope = _shown(text)
    if not _SCOPE_TOKEN.fullmatch(text):
        raise refuse(_("%(scope)s has characters a scope cannot have.", scope=scope))
    if text in NAMED_SCOPES or text in SYSTEM_NAMED_SCOPES:
        return NamedScope(text)
    context, slash, rest = text.partition("/")
    if not slash or context == "launch":
        raise refuse(_("%(scope)s is not a SMART scope Torget knows.", scope=scope))
    if context not in _CONTEXTS:
        raise refuse(
            _("%(scope)s: a resource scope starts with patient/, user/ or system/.", scope=scope)
        )
    path, question, query_text = rest.partition("?")
    resource, dot, permissions = path.partition(".")
    if not resource or not dot:
        raise refuse(
            _(
                "%(scope)s: write a resource scope as context/ResourceType.permissions, "
                "e.g. patient/Observation.rs.",
                scope=scope,
            )
        )
    if resource != WILDCARD and resource not in _RESOURCE_TYPES:
        raise refuse(
            _("%(scope)s: %(type)s is not a FHIR R4 resource type.", scope=scope, type=resource)
        )
    if permissions in _V1_PERMISSIONS:
        if question:
            raise refuse(
                _(
                    "%(scope)s: a query needs v2 permissions (letters of cruds), "
                    "not read, write or *.",
                    scope=scope,
                )
            )
        permissions = _V1_PERMISSIONS[permissions]
    elif not permissions or not _V2_PERMISSIONS.fullmatch(permissions):
        raise refuse(
            _(
                "%(scope)s: permissions are letters of cruds in that order (e.g. rs), "
                "or read, write or *.",
                scope=scope,
            )
        )
    query: Query = ()
    if question:
        parsed = _parse_query(query_text)
        if parsed is None:
            raise refuse(
                _(
                    "%(scope)s: the query after ? must be param=value pairs joined by &.",
                    scope=scope,
                )
            )
        query = parsed
    return ResourceScope(Context(context), resource, permissions, query, text=text)


def parse_scopes(text: str, *, field: str = "scopes") -> list[Scope]:
    """A space-separated scope string (RFC 6749 §3.3), parsed, repeats dropped, in order.

    Raises `Invalid` on `field`: its detail names the first bad scope, its field
    messages every one, so a vendor fixes them all in one go.
    """
    if not text:
        raise Invalid(_("Enter at least one scope."), field=field)
    if len(text) > MAX_LENGTH:
        raise Invalid(
            _("The scopes are at most %(max)d characters together.", max=MAX_LENGTH),
            field=field,
        )
    tokens = text.split(" ")
    # One space between scopes, none around them: an empty token or other
    # whitespace means the text was put together by hand or mangled.
    if "" in tokens or any(c.isspace() for c in text.replace(" ", "")):
        raise Invalid(
            _("Separate the scopes with single spaces, with none before or after."),
            field=field,
        )
    if len(tokens) > MAX_SCOPES:
        raise Invalid(_("Ask for at most %(max)d scopes.", max=MAX_SCOPES), field=field)
    scopes: list[Scope] = []
    problems: list[str] = []
    for token in dict.fromkeys(tokens):
        try:
            scope = parse_scope(token, field=field)
        except Invalid as error:
            problems.append(str(error.detail))
            continue
        # Scopes equal in what they grant are one (patient/Observation.read
        # and patient/Observation.rs): the first spelling is kept.
        if scope not in scopes:
            scopes.append(scope)
    if problems:
        raise Invalid(problems[0], fields={field: problems})
    return scopes


def _policy_problem(scope: Scope, audience: Audience) -> str | None:
    shown = _shown(str(scope))
    if isinstance(scope, NamedScope):
        if scope.name in SYSTEM_NAMED_SCOPES:
            if audience is Audience.BACKEND:
                return None
            return _(
                "%(scope)s: only a backend service (a journal system) can ask for this scope.",
                scope=shown,
            )
        if audience is Audience.BACKEND:
            # SMART Backend Services: client_credentials, no user, no launch,
            # no refresh token.
            return _(
                "%(scope)s: a backend service has no user and no launch, "
                "so it cannot ask for this scope.",
                scope=shown,
            )
        return None
    if audience is Audience.BACKEND and scope.context is not Context.SYSTEM:
        return _("%(scope)s: a backend service can only ask for system/ scopes.", scope=shown)
    if audience is Audience.CLINICIAN and scope.context is Context.SYSTEM:
        return _("%(scope)s: only backend services can ask for system/ scopes.", scope=shown)
    if audience is Audience.PATIENT:
        if scope.context is not Context.PATIENT:
            return _("%(scope)s: a patient app can only ask for patient/ scopes.", scope=shown)
        if scope.resource == WILDCARD:
            return _(
                "%(scope)s: a patient app must name the resource types it uses, not *.",
                scope=shown,
            )
    if scope.resource == WILDCARD and WRITE_PERMISSIONS & set(scope.permissions):
        return _(
            "%(scope)s: write access (c, u, d) to every resource type (*) is not allowed; "
            "name the resource types the app writes.",
            scope=shown,
        )
    return None


def check_requested(
    scopes: Sequence[Scope], audience: Audience | str, *, field: str = "scopes"
) -> None:
    """Refuse scopes an app of this audience may not ask for; raises `Invalid` on `field`.

    - clinician apps: `patient/` and `user/` scopes and every named scope;
    - patient apps: `patient/` scopes naming their resource types (no `*`: a
      person cannot judge "all data, now and in the future", the spec's own
      warning about wildcards) and every named scope;
    - backend services: `system/` scopes only;
    - any app: no write permission (c, u, d) on `*`, in any context, system
      included. No single function needs to write every resource type, today's
      and future ones; a municipality could not judge what it approves, and the
      certification criterion asks for scopes no wider than the function. A
      backend bridge names what it writes (the spec's `system/Encounter.cud`);
      `system/*.rs` (bulk export) stays possible.
    - `fhirUser` and `profile` come with `openid`: they are claims of the ID
      token, and only `openid` gives one (SMART 2.2 "Scopes for requesting
      identity data").

    `audience` that is not an `Audience` raises ValueError: it is our data, not
    the client's.
    """
    audience = Audience(audience)
    problems = [p for s in scopes if (p := _policy_problem(s, audience)) is not None]
    if audience is not Audience.BACKEND and NamedScope("openid") not in scopes:
        problems += [
            _("%(scope)s needs openid as well.", scope=str(s))
            for s in scopes
            if s in (NamedScope("fhirUser"), NamedScope("profile"))
        ]
    if problems:
        raise Invalid(problems[0], fields={field: problems})


def covers(broader: Scope, narrower: Scope) -> bool:
    """Whether everything `narrower` grants, `broader` grants too.

    Resource scopes: the same context (`user/` never implies `patient/` nor the
    reverse: one is what the user may see, the other the one patient in
    context), the same resource type or `*`, a superset of the permissions, and
    either no query or the very same one. A shorter query is not taken as
    broader: parameters such as `_include` widen what a search returns.
    Named scopes cover only themselves.
    """
    if not (isinstance(broader, ResourceScope) and isinstance(narrower, ResourceScope)):
        return broader == narrower
    return (
        broader.context == narrower.context
        and broader.resource in (narrower.resource, WILDCARD)
        and set(narrower.permissions) <= set(broader.permissions)
        and broader.query in ((), narrower.query)
    )


def _meet(wanted: Scope, permitted: Scope) -> Scope | None:
    """The broadest scope both grant, or None; `wanted`'s or `permitted`'s own
    object when it is that one, so their text (v1 or v2) survives."""
    if not (isinstance(wanted, ResourceScope) and isinstance(permitted, ResourceScope)):
        return wanted if wanted == permitted else None
    if wanted.context != permitted.context:
        return None
    if permitted.resource in (wanted.resource, WILDCARD):
        resource = wanted.resource
    elif wanted.resource == WILDCARD:
        resource = permitted.resource
    else:
        return None
    # Two different queries are refused rather than joined: joining is only
    # safe for filtering parameters, and the grant must never be wider.
    if permitted.query in ((), wanted.query):
        query = wanted.query
    elif not wanted.query:
        query = permitted.query
    else:
        return None
    permissions = "".join(p for p in wanted.permissions if p in permitted.permissions)
    if not permissions:
        return None
    both = ResourceScope(wanted.context, resource, permissions, query)
    if both == wanted:
        return wanted
    return permitted if both == permitted else both


def _without_covered(scopes: list[Scope]) -> list[Scope]:
    """`scopes` in order, less repeats and each scope that another one covers."""
    by_key: dict[tuple[str, str, Query], list[ResourceScope]] = {}
    for scope in scopes:
        if isinstance(scope, ResourceScope):
            by_key.setdefault((scope.context, scope.resource, scope.query), []).append(scope)
    kept: list[Scope] = []
    seen: set[Scope] = set()
    for scope in scopes:
        if scope in seen:
            continue
        if isinstance(scope, ResourceScope):
            # Only these four keys can hold a scope that covers this one; looking
            # there keeps 100 x 100 scopes from being compared pair by pair.
            keys = {
                (scope.context, resource, query)
                for resource in (scope.resource, WILDCARD)
                for query in (scope.query, ())
            }
            others = (o for key in keys for o in by_key.get(key, ()))
            if any(o != scope and covers(o, scope) for o in others):
                continue
        seen.add(scope)
        kept.append(scope)
    return kept


def intersect(requested: Iterable[Scope], allowed: Iterable[Scope]) -> list[Scope]:
    """What both grant: for each requested scope, the broadest scope that both it
    and an allowed scope cover (one per allowed scope it overlaps), in request order.

    `patient/Observation.rs` ∩ `patient/Observation.r` → `patient/Observation.r`;
    `patient/*.rs` ∩ `patient/Observation.rs?category=vital-signs` → the latter;
    `patient/Observation.cruds` ∩ `user/Observation.rs` → nothing (contexts stay
    apart); scopes with two different queries → nothing. Named scopes meet only
    themselves. Repeats, and scopes another result covers, are left out, so the
    grant reads as short as the spec recommends. A result equal to a requested
    (or else an allowed) scope is that scope object, text and all: a v1 scope
    granted as asked stays v1. Chain it for the grant rule:
    `intersect(intersect(requested, registered), approved)`.
    """
    allowed = list(allowed)
    found = [
        both
        for wanted in requested
        for permitted in allowed
        if (both := _meet(wanted, permitted)) is not None
    ]
    return _without_covered(found)


def resource_types(scopes: Iterable[Scope]) -> set[str]:
    """The resource types the scopes reach, `*` included as `*` (all kinds of data)."""
    return {s.resource for s in scopes if isinstance(s, ResourceScope)}


_NAMED_EXPLAINED = {
    "openid": _l("Know who you are"),
    "fhirUser": _l("Know your identity as health personnel (your FHIR user record)"),
    "profile": _l("Know your name and profile details"),
    "launch": _l("Receive the patient and context from the journal system"),
    "launch/patient": _l("Ask you to choose a patient"),
    "launch/encounter": _l("Ask you to choose an encounter"),
    "offline_access": _l("Keep access after you close the app, until revoked"),
    "online_access": _l("Keep access while you are signed in"),
    JOURNAL_LAUNCH: _l("Start apps for clinicians from the journal system"),
}
_VERBS = {
    "c": _l("create"),
    "r": _l("read"),
    "u": _l("update"),
    "d": _l("delete"),
    "s": _l("search"),
}
_WHOSE = {
    Context.PATIENT: _l("of the patient in context"),
    Context.USER: _l("for any patient the user may see"),
    Context.SYSTEM: _l("for any patient, without a user (system)"),
}
# What people call the data; a type not listed is shown by its FHIR name.
_DATA_NAMES = {
    WILDCARD: _l("all kinds of data"),
    "AllergyIntolerance": _l("allergies and intolerances"),
    "Appointment": _l("appointments"),
    "CarePlan": _l("care plans"),
    "CareTeam": _l("care teams"),
    "Condition": _l("conditions and diagnoses"),
    "DiagnosticReport": _l("test results and reports"),
    "DocumentReference": _l("documents"),
    "Encounter": _l("encounters"),
    "EpisodeOfCare": _l("episodes of care"),
    "Flag": _l("warnings and flags"),
    "Goal": _l("goals"),
    "Immunization": _l("vaccinations"),
    "Location": _l("locations"),
    "Medication": _l("medications"),
    "MedicationAdministration": _l("medication administrations"),
    "MedicationRequest": _l("medication prescriptions"),
    "MedicationStatement": _l("medication use"),
    "Observation": _l("observations"),
    "Organization": _l("organisations"),
    "Patient": _l("patient details"),
    "Practitioner": _l("health personnel"),
    "PractitionerRole": _l("roles of health personnel"),
    "Procedure": _l("procedures"),
    "Questionnaire": _l("questionnaires"),
    "QuestionnaireResponse": _l("questionnaire answers"),
    "ServiceRequest": _l("referrals and service requests"),
}
# http://terminology.hl7.org/CodeSystem/observation-category: the two a
# municipal app asks for most (NEWS2 reads vital signs).
_OBSERVATION_CATEGORIES = {
    "vital-signs": _l("vital signs"),
    "laboratory": _l("laboratory results"),
}
_PARAMETER_NAMES = {
    "category": _l("category"),
    "code": _l("code"),
    "status": _l("status"),
}


def _join(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return _("%(items)s and %(last)s", items=", ".join(items[:-1]), last=items[-1])


def _code(value: str) -> str:
    # A token `system|code`: people know the code, not the system's URL.
    return value.rpartition("|")[2] or value


def resource_name(resource: str) -> str:
    """What people call a resource type (`*` too), in the current language; else its FHIR name."""
    return str(_DATA_NAMES.get(resource, resource))


def _data_name(scope: ResourceScope) -> str:
    categories = [v for n, v in scope.query if n == "category"]
    if scope.resource == "Observation" and len(categories) == 1:
        category = _OBSERVATION_CATEGORIES.get(_code(categories[0]))
        if category is not None:
            return str(category)
    return resource_name(scope.resource)


def explain(scope: Scope) -> str:
    """What the scope lets an app do, in plain words in the current language.

    e.g. `patient/Observation.rs?category=vital-signs` → "Read and search vital
    signs (Observation, category vital-signs) of the patient in context".
    """
    if isinstance(scope, NamedScope):
        return str(_NAMED_EXPLAINED[scope.name])
    actions = _join([str(_VERBS[p]) for p in scope.permissions])
    actions = actions[:1].upper() + actions[1:]
    data = _data_name(scope)
    # The FHIR name goes in brackets after a friendly one; alone, it is the name.
    details = [] if data == scope.resource or scope.resource == WILDCARD else [scope.resource]
    for name, value in scope.query:
        label = _PARAMETER_NAMES.get(name)
        details.append(f"{label} {_code(value)}" if label is not None else f"{name}={value}")
    words = {"actions": actions, "data": data, "whose": str(_WHOSE[scope.context])}
    if details:
        words["details"] = ", ".join(details)
        return _("%(actions)s %(data)s (%(details)s) %(whose)s", **words)
    return _("%(actions)s %(data)s %(whose)s", **words)
