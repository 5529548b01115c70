"""`/oauth/launch`: a journal system (EPJ) opens an app with a launch context.

The EPJ is a backend service: it takes a token with client_credentials and
its signed assertion, scope `system/launch`, which the municipality approved
for it like any scope. With that token it creates a context for one app, one
clinician and (usually) one patient, and gets the URL to open the app with.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from marshmallow import Schema, ValidationError, fields, validate

from accounts.access import csrf_exempt
from auth import audit, launch, status
from auth.responses import no_store_json, oauth_error
from auth.urls import fhir_base
from auth.views import bp
from catalog.scopes import JOURNAL_LAUNCH
from marketplace.models import Tenant
from torget import ratelimit
from torget.access import public
from torget.db import db
from torget.errors import DomainError, Invalid


class LaunchRequestSchema(Schema):
    client_id = fields.String(required=True, validate=validate.Length(1, 64))
    user = fields.Email(load_default=None)
    hpr = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9]{1,9}$"))
    patient = fields.String(load_default=None, validate=validate.Length(1, 64))
    encounter = fields.String(load_default=None, validate=validate.Length(1, 64))
    intent = fields.String(load_default=None, validate=validate.Length(1, 64))
    fhir_context = fields.List(fields.Raw(), load_default=list, data_key="fhirContext")


@bp.route("/launch", methods=["POST"])
@public
@csrf_exempt
@ratelimit.rate_limit("launch", methods=["POST"], ip=ratelimit.client_ip)
def create_launch() -> Response:
    found = status.of_bearer(request.headers.get("Authorization"))
    if not found.active or found.facts is None:
        audit.refused("launch", "invalid_token")
        response = oauth_error("invalid_token", "A live access token is needed.", 401)
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    epj = found.facts
    if JOURNAL_LAUNCH not in found.claims.get("scope", "").split():
        audit.refused(
            "launch", "insufficient_scope", client_id=epj.client_id, tenant_id=epj.tenant_id
        )
        return oauth_error(
            "insufficient_scope", f"The token needs the scope {JOURNAL_LAUNCH}.", 403
        )
    body = request.get_json(silent=True)
    try:
        data: dict[str, Any] = LaunchRequestSchema().load(body if isinstance(body, dict) else {})
    except ValidationError as error:
        audit.refused("launch", "invalid_request", client_id=epj.client_id, tenant_id=epj.tenant_id)
        body = {
            "error": "invalid_request",
            "error_description": "The launch request is not valid.",
            "errors": error.messages,
        }
        return no_store_json(body, 400)
    tenant = db.session.get(Tenant, epj.tenant_id)
    assert tenant is not None  # noqa: S101 - a grant's tenant is a foreign key
    try:
        user = launch.clinician_for(tenant, email=data["user"], hpr=data["hpr"])
    except Invalid as refused:
        audit.refused("launch", "unknown_user", client_id=epj.client_id, tenant_id=tenant.id)
        return _refusal(refused)
    try:
        issued = launch.create(
            client_id=data["client_id"],
            tenant=tenant,
            user=user,
            patient=data["patient"],
            encounter=data["encounter"],
            intent=data["intent"],
            fhir_context=data["fhir_context"],
        )
    except DomainError as refused:
        audit.refused(
            "launch", "refused", client_id=epj.client_id, tenant_id=tenant.id, detail=str(refused)
        )
        return _refusal(refused)
    iss = fhir_base(tenant.slug)
    audit.record(
        "launch",
        "created",
        client_id=epj.client_id,
        tenant_id=tenant.id,
        user_id=user.id if user else None,
        detail=f"for {data['client_id']}",
    )
    body = {
        "launch": issued.launch,
        "iss": iss,
        "launch_url": launch.launch_url(issued, iss),
        "expires_in": int(launch.LIFETIME.total_seconds()),
    }
    return no_store_json(body, 201)


def _refusal(refused: DomainError) -> Response:
    body = {
        "error": "invalid_request",
        # Field errors carry no detail: str() falls back to the error's title.
        "error_description": str(refused),
        **({"errors": refused.fields} if refused.fields else {}),
    }
    return no_store_json(body, 422 if refused.fields else refused.status)
