"""EHR launch contexts: made for one app and one municipality, spent once, within minutes.

The journal system (through `/oauth/launch`, or the built-in EPJ launcher)
asks for a context carrying the patient, encounter, user, intent and
fhirContext; it gets an opaque `launch` value to open the app with. The
app's authorize request with scope `launch` spends it: once, by that app,
before it expires. Only a hash of the value is stored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask_babel import gettext as _
from sqlalchemy import select

from accounts.access import has_role
from accounts.models import Role, User
from auth.models import LaunchContext
from catalog.fhir_types import RESOURCE_TYPES
from catalog.models import LaunchMode, Release
from marketplace import enablements
from marketplace.models import Tenant
from torget import tokens
from torget.db import db, spend_once, utcnow
from torget.errors import Conflict, FieldErrors, Forbidden, Invalid

LIFETIME = dt.timedelta(minutes=5)
MAX_FHIR_CONTEXT = 20
# FHIR R4 id: [A-Za-z0-9\-\.]{1,64}
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_INTENT = re.compile(r"[A-Za-z0-9_\-.:]{1,64}")
_RESOURCE_TYPES = frozenset(RESOURCE_TYPES)


@dataclass(frozen=True)
class IssuedLaunch:
    context: LaunchContext
    launch: str
    """The value to open the app with. It exists only here: it is stored hashed."""


def _check_reference(item: object, errors: FieldErrors, index: int) -> dict[str, Any] | None:
    """A fhirContext item: {"reference": "Type/id"} with an optional role (SMART 2.2)."""
    field = f"fhir_context.{index}"
    if not isinstance(item, dict) or set(item) - {"reference", "role"}:
        errors.add(field, _('Each item is {"reference": "Type/id"} with an optional role.'))
        return None
    reference = item.get("reference")
    kind, _slash, ident = reference.partition("/") if isinstance(reference, str) else ("", "", "")
    if kind not in _RESOURCE_TYPES or not _FHIR_ID.fullmatch(ident):
        errors.add(
            field, _("A reference is a FHIR resource type and an id, such as Encounter/123.")
        )
        return None
    role = item.get("role")
    if role is not None and not (isinstance(role, str) and _INTENT.fullmatch(role)):
        errors.add(field, _("A role is a short code."))
        return None
    return {"reference": reference, **({"role": role} if role else {})}


def clinician_for(tenant: Tenant, *, email: str | None, hpr: str | None) -> User | None:
    """The clinician a journal names (by e-mail or HPR number), who must work in `tenant`.

    None when the journal names nobody; `Invalid` when nobody of `tenant` has that identity.
    """
    if email is None and hpr is None:
        return None
    named = db.session.scalars(
        select(User).where(User.email == email if email else User.hpr_number == hpr)
    )
    # An e-mail address names one account; an HPR number one person, who may hold
    # accounts elsewhere too: the one that works here, and only if there is one.
    found = [
        user for user in named if user.is_active and has_role(user, [Role.CLINICIAN], tenant.slug)
    ]
    if len(found) != 1:
        raise Invalid(_("No clinician of this municipality has that identity."), field="user")
    return found[0]


def launch_url(issued: IssuedLaunch, iss: str) -> str | None:
    """The app's launch URL with `iss` and `launch`, for the journal to open."""
    release = release_for(issued.context)
    if release is None or not release.launch_url:
        return None
    separator = "&" if "?" in release.launch_url else "?"
    return f"{release.launch_url}{separator}{urlencode({'iss': iss, 'launch': issued.launch})}"


def create(
    *,
    client_id: str,
    tenant: Tenant,
    user: User | None,
    patient: str | None = None,
    encounter: str | None = None,
    intent: str | None = None,
    fhir_context: Sequence[object] = (),
    now: dt.datetime | None = None,
) -> IssuedLaunch:
    """A launch context for `client_id` in `tenant`, if the app may launch there now."""
    decision = enablements.launch_policy(client_id, tenant.slug)
    if not decision.allowed:
        raise Forbidden(decision.reason)
    if decision.release is None or LaunchMode.EHR.value not in decision.release.launch_modes:
        raise Conflict(_("This app does not start from the journal system (no EHR launch)."))
    errors = FieldErrors()
    for name, value in (("patient", patient), ("encounter", encounter)):
        if value is not None:
            errors.check(
                bool(_FHIR_ID.fullmatch(value)),
                name,
                _("Give a FHIR id (1 to 64 letters, digits, - or .)."),
            )
    if intent is not None:
        errors.check(bool(_INTENT.fullmatch(intent)), "intent", _("An intent is a short code."))
    items = list(fhir_context)
    errors.check(
        len(items) <= MAX_FHIR_CONTEXT,
        "fhir_context",
        _("At most %(n)d items.", n=MAX_FHIR_CONTEXT),
    )
    checked = [_check_reference(item, errors, i) for i, item in enumerate(items[:MAX_FHIR_CONTEXT])]
    errors.raise_if_any()
    now = now or utcnow()
    launch = tokens.new()
    context = LaunchContext(
        launch_hash=tokens.digest(launch),
        client_id=client_id,
        tenant_id=tenant.id,
        user_id=user.id if user else None,
        patient=patient,
        encounter=encounter,
        intent=intent,
        fhir_context=[c for c in checked if c is not None],
        created_at=now,
        expires_at=now + LIFETIME,
    )
    db.session.add(context)
    db.session.flush()  # generate context.id
    return IssuedLaunch(context=context, launch=launch)


def spend(launch: str, *, client_id: str, now: dt.datetime | None = None) -> LaunchContext:
    """The context behind `launch`, now used; refused if unknown, used, expired or another app's.

    One conditional UPDATE decides: of two requests racing with the same
    value (two tabs, two nodes), exactly one finds it unused.
    """
    now = now or utcnow()
    spent, context = spend_once(
        LaunchContext.launch_hash,
        tokens.digest(launch or ""),
        LaunchContext.client_id == client_id,
        LaunchContext.expires_at > now,
        now=now,
    )
    if not spent:
        raise Invalid(
            _("The launch is not valid: it may be used, expired, or meant for another app."),
            field="launch",
        )
    return context


def release_for(context: LaunchContext) -> Release | None:
    """The release the app runs in the context's municipality (its launch URL opens it)."""
    tenant = db.session.get(Tenant, context.tenant_id)
    if tenant is None:
        return None
    return enablements.launch_policy(context.client_id, tenant.slug).release
