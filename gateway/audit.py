"""The gateway's audit trail: every access, allowed or refused, as an `AccessEvent`.

An allowed access's event is written in the request's own transaction, so a
write and its event commit together, and a read whose event cannot be
written fails with 503 and returns nothing (the shell's commit answers so).
A refused request first forgets whatever it had begun, then records why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import g, has_request_context, request
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from gateway.enforcement import Caller
from gateway.models import MAX_AUDITED_IDS, AccessEvent
from marketplace import usage
from torget.db import db, utcnow
from torget.errors import Unavailable

MAX_QUERY = 2000
log = logging.getLogger(__name__)


@dataclass
class Pending:
    """What the request is about, gathered as it goes (g.gateway_audit)."""

    tenant_id: int
    interaction: str
    resource_type: str | None
    query: str = ""
    caller: Caller | None = None
    scopes: str = ""
    patient: str | None = None
    ids: list[str] = field(default_factory=list)


def begin(tenant_id: int, interaction: str, resource_type: str | None, query: str = "") -> Pending:
    pending = Pending(tenant_id, interaction, resource_type, query[:MAX_QUERY])
    g.gateway_audit = pending
    return pending


def current() -> Pending | None:
    return g.get("gateway_audit") if has_request_context() else None


def record(pending: Pending, *, outcome: str, status: int, detail: str = "") -> None:
    caller = pending.caller
    db.session.add(
        AccessEvent(
            tenant_id=pending.tenant_id,
            client_id=caller.client_id if caller else None,
            application_id=caller.application_id if caller else None,
            grant_id=caller.grant_id if caller else None,
            fhir_user=caller.fhir_user if caller else None,
            patient_id=pending.patient or (caller.patient if caller else None),
            interaction=pending.interaction,
            resource_type=pending.resource_type,
            resource_ids=pending.ids[:MAX_AUDITED_IDS],
            query=pending.query,
            outcome=outcome,
            status=status,
            detail=detail[:500],
            scopes=pending.scopes,
            ip=request.remote_addr if has_request_context() else None,
        )
    )


def allowed(pending: Pending, references: list[str], status: int) -> None:
    """Record an allowed access now: if its event cannot be written, it returns no data (503).

    Using an app counts its user as active this month (the per-user price model).
    """
    pending.ids = references[:MAX_AUDITED_IDS]
    record(pending, outcome="allowed", status=status)
    caller = pending.caller
    if caller is not None and caller.fhir_user and caller.application_id is not None:
        usage.record_active_user(
            pending.tenant_id, caller.application_id, caller.fhir_user, utcnow()
        )
    try:
        db.session.flush()
    except SQLAlchemyError:
        log.exception("the access could not be audited; no data was returned")
        raise Unavailable(_("The access could not be recorded: try again.")) from None


def refused(pending: Pending, *, status: int, detail: str) -> None:
    """Forget what the refused request had written; keep only its event."""
    db.session.rollback()
    outcome = "denied" if status in (401, 403) else "invalid"
    record(pending, outcome=outcome, status=status, detail=detail)
