"""Who is asking, and what the token's scopes let them do here.

Every request to a municipality's FHIR base carries a bearer token Torget
issued for exactly that base (`aud`). Its signature and expiry are checked
at every request; whether it is still live (not revoked, its enablement not
disabled, its release not suspended) is read from the database at most once
a second per token and process (`StatusCache`), so every node sees a
revocation within a second without a database read per request.

The scopes then decide, per request: the resource type, the interaction
(SMART v2 `cruds`; v1 scopes arrive mapped to them), the scope's own query
(`patient/Observation.rs?category=vital-signs` reads vital signs only), and
for `patient/` scopes the patient compartment of the token's patient.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _

from auth import status
from auth.urls import fhir_base
from catalog.scopes import Context, Query, ResourceScope, parse_scopes
from marketplace.models import Tenant
from torget.errors import Forbidden, Unauthorized

# How long a token's live status is trusted before the database is read again.
STATUS_TTL_SECONDS = 1.0
_CACHE_LIMIT = 10_000

# Resource types outside every patient's compartment: a patient-scoped token
# may read them (a practitioner's or a unit's name and contact is no patient's data).
SHARED_TYPES = frozenset({"Practitioner", "Organization"})

# The SMART v2 permission of each FHIR interaction.
PERMISSION = {
    "read": "r",
    "vread": "r",
    "history": "r",
    "search": "s",
    "create": "c",
    "update": "u",
}


@dataclass(frozen=True)
class Caller:
    """The token's holder, as the gateway enforces and audits it."""

    tenant_id: int
    client_id: str
    grant_id: int | None
    application_id: int | None
    fhir_user: str | None
    patient: str | None
    scope: str
    scopes: tuple[ResourceScope, ...]


@dataclass(frozen=True)
class Permit:
    """What one interaction on one resource type may touch.

    `patient`: only that patient's compartment (None: any patient's).
    `queries`: the resource must match one of them (None: no condition).
    `scopes`: the granted scopes that allowed it, for the audit.
    """

    patient: str | None
    queries: tuple[Query, ...] | None
    scopes: tuple[ResourceScope, ...]

    @property
    def scope_text(self) -> str:
        return " ".join(s.text for s in self.scopes)


class StatusCache:
    """Live or not, per token, trusted for `ttl` seconds in this process."""

    def __init__(
        self, ttl: float = STATUS_TTL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self._entries: dict[str, tuple[float, Caller | None]] = {}
        self._lock = threading.Lock()

    def get(self, jti: str) -> tuple[bool, Caller | None]:
        entry = self._entries.get(jti)
        if entry is None or entry[0] <= self.clock():
            return False, None
        return True, entry[1]

    def put(self, jti: str, caller: Caller | None) -> None:
        with self._lock:
            if len(self._entries) >= _CACHE_LIMIT:
                now = self.clock()
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                if len(self._entries) >= _CACHE_LIMIT:
                    self._entries.clear()
            self._entries[jti] = (self.clock() + self.ttl, caller)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _challenge(tenant: Tenant, error: str | None = None, description: str = "") -> Unauthorized:
    # RFC 6750 §3: no error code when the request carried no token at all.
    value = f'Bearer realm="{fhir_base(tenant.slug)}"'
    if error:
        value += f', error="{error}", error_description="{description}"'
    return Unauthorized(description or _("This FHIR base needs a bearer token."), headers={
        "WWW-Authenticate": value
    })  # fmt: skip


def authenticate(tenant: Tenant, authorization: str | None) -> Caller:
    """The caller of a request to `tenant`'s FHIR base; Unauthorized (401) when it has none."""
    token = status.bearer(authorization)
    if token is None:
        raise _challenge(tenant)
    claims = status.verify_access_token(token)
    if claims is None:
        raise _challenge(tenant, "invalid_token", "The access token is not valid or has expired.")
    if claims.get("aud") != fhir_base(tenant.slug):
        raise _challenge(tenant, "invalid_token", "The access token is for another FHIR base.")
    cache: StatusCache = current_app.extensions["torget_gateway_status"]
    known, caller = cache.get(claims["jti"])
    if not known:
        caller = _caller(token, tenant)
        cache.put(claims["jti"], caller)
    if caller is None:
        raise _challenge(tenant, "invalid_token", "The access token has been revoked.")
    return caller


def _caller(token: str, tenant: Tenant) -> Caller | None:
    """The authoritative status, read now; None when the token is no longer live."""
    found = status.access_token_status(token)
    facts = found.facts
    if not found.active or facts is None or facts.tenant_id != tenant.id:
        return None
    claims = found.claims
    scope = claims.get("scope", "")
    practitioner = f"{fhir_base(tenant.slug)}/Practitioner/{facts.practitioner}"
    return Caller(
        tenant_id=tenant.id,
        client_id=claims["client_id"],
        grant_id=facts.grant_id,
        application_id=facts.application_id,
        # The user's Practitioner, whether or not the app was granted fhirUser:
        # the audit and the active-user count need to know who it was.
        fhir_user=claims.get("fhirUser") or (practitioner if facts.practitioner else None),
        patient=claims.get("patient"),
        scope=scope,
        scopes=tuple(s for s in parse_scopes(scope) if isinstance(s, ResourceScope)),
    )


def permit(caller: Caller, resource_type: str, interaction: str) -> Permit:
    """What `interaction` on `resource_type` may touch for `caller`; Forbidden when nothing."""
    letter = PERMISSION[interaction]
    allowing = [
        s for s in caller.scopes if s.resource in (resource_type, "*") and letter in s.permissions
    ]
    if not allowing:
        raise Forbidden(
            _("No granted scope allows %(interaction)s of %(type)s.",
              interaction=interaction, type=resource_type)
        )  # fmt: skip
    # A user/ or system/ scope reaches every patient; patient/ scopes only the
    # token's patient. The wider kind decides when both allow.
    wide = [s for s in allowing if s.context != Context.PATIENT]
    if wide:
        chosen, patient = wide, None
    elif caller.patient is None:
        raise Forbidden(_("A patient/ scope needs a patient in the launch context."))
    else:
        chosen, patient = allowing, caller.patient
    if resource_type in SHARED_TYPES:
        patient = None
    queries = None if any(not s.query for s in chosen) else tuple(s.query for s in chosen)
    return Permit(patient=patient, queries=queries, scopes=tuple(chosen))


def init_app(app: object) -> None:
    app.extensions["torget_gateway_status"] = StatusCache()  # type: ignore[attr-defined]
