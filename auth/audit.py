"""The authorization server's audit trail: every issuance and every refusal.

A refusal rolls back whatever the request had begun, then writes its event:
"nothing written but the audit of the refusal". Events never hold a token,
code, secret or assertion: only what happened and to whom.
"""

from __future__ import annotations

from flask import has_request_context, request
from sqlalchemy import insert

from auth.models import AuthEvent
from torget.db import db, utcnow

MAX_DETAIL = 500
# Built once, the values bound per call: a statement built per call costs more
# in its cache key than the database spends on it.
_INSERT = insert(AuthEvent)


def record(
    endpoint: str,
    outcome: str,
    *,
    client_id: str | None = None,
    tenant_id: int | None = None,
    user_id: int | None = None,
    grant_type: str | None = None,
    detail: str = "",
) -> None:
    # A plain INSERT on the session's connection: written on every token, read
    # back only by the audit pages, so the ORM's bookkeeping would be waste.
    db.session.connection().execute(
        _INSERT,
        {
            "at": utcnow(),
            "endpoint": endpoint,
            "outcome": outcome[:32],
            "client_id": (client_id or None) and client_id[:64],
            "tenant_id": tenant_id,
            "user_id": user_id,
            "grant_type": (grant_type or None) and grant_type[:64],
            "detail": detail[:MAX_DETAIL],
            "ip": request.remote_addr if has_request_context() else None,
        },
    )


def refused(endpoint: str, error: str, **fields: object) -> None:
    """Forget what the refused request had written; keep only its audit event."""
    db.session.rollback()
    record(endpoint, error, **fields)  # type: ignore[arg-type]
