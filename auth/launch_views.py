"""`/oauth/launch`: a journal system (EPJ) opens an app with a launch context.

The EPJ is a backend service: it takes a token with client_credentials and
its signed assertion, scope `system/launch`, which the municipality approved
for it like any scope. With that token it creates a context for one app, one
clinician and (usually) one patient, and gets the URL to open the app with.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate

from accounts.access import csrf_exempt, has_role
from accounts.models import Role, User
from auth import audit, launch, status
from auth.urls import fhir_base
from auth.views import _cors, _oauth_error, _preflight, bp
from catalog.models import Client
from catalog.scopes import JOURNAL_LAUNCH
from marketplace.models import Tenant
from torget import ratelimit
from torget.access import public
from torget.db import db
from torget.errors import DomainError


class LaunchRequestSchema(Schema):
    client_id = fields.String(required=True, validate=validate.Length(1, 64))
    user = fields.Email(load_default=None)
    hpr = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9]{1,9}$"))
    patient = fields.String(load_default=None, validate=validate.Length(1, 64))
    encounter = fields.String(load_default=None, validate=validate.Length(1, 64))
    intent = fields.String(load_default=None, validate=validate.Length(1, 64))
    fhir_context = fields.List(fields.Raw(), load_default=list, data_key="fhirContext")


@bp.route("/launch", methods=["POST", "OPTIONS"])
@public
@csrf_exempt
@ratelimit.rate_limit("launch", methods=["POST"], ip=ratelimit.client_ip)
def create_launch() -> Response:
    if request.method == "OPTIONS":
        return _preflight()
    found = status.of_bearer(request.headers.get("Authorization"))
    if not found.active or found.grant is None:
        audit.refused("launch", "invalid_token")
        response = _oauth_error("invalid_token", "A live access token is needed.", 401)
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    epj = found.grant
    if JOURNAL_LAUNCH not in found.claims.get("scope", "").split():
        audit.refused(
            "launch", "insufficient_scope", client_id=epj.client_id, tenant_id=epj.tenant_id
        )
        return _oauth_error(
            "insufficient_scope", f"The token needs the scope {JOURNAL_LAUNCH}.", 403
        )
    body = request.get_json(silent=True)
    try:
        data: dict[str, Any] = LaunchRequestSchema().load(body if isinstance(body, dict) else {})
    except ValidationError as error:
        audit.refused("launch", "invalid_request", client_id=epj.client_id, tenant_id=epj.tenant_id)
        response = _oauth_error("invalid_request", "The launch request is not valid.", 400)
        response.set_data(
            jsonify({"error": "invalid_request", "errors": error.messages}).get_data()
        )
        return response
    tenant = db.session.get(Tenant, epj.tenant_id)
    assert tenant is not None  # noqa: S101 - a grant's tenant is a foreign key
    user = _clinician(data, tenant)
    if isinstance(user, Response):
        return user
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
        response = jsonify(
            {
                "error": "invalid_request",
                # Field errors carry no detail: str() falls back to the error's title.
                "error_description": str(refused),
                **({"errors": refused.fields} if refused.fields else {}),
            }
        )
        response.status_code = 422 if refused.fields else refused.status
        return _cors(response)
    app_client = db.session.scalar(db.select(Client).where(Client.client_id == data["client_id"]))
    release = launch.release_for(issued.context)
    iss = fhir_base(tenant.slug)
    launch_url = None
    if release is not None and release.launch_url:
        separator = "&" if "?" in release.launch_url else "?"
        launch_url = (
            f"{release.launch_url}{separator}{urlencode({'iss': iss, 'launch': issued.launch})}"
        )
    audit.record(
        "launch",
        "created",
        client_id=epj.client_id,
        tenant_id=tenant.id,
        user_id=user.id if user else None,
        detail=f"for {app_client.client_id if app_client else data['client_id']}",
    )
    response = jsonify(
        {
            "launch": issued.launch,
            "iss": iss,
            "launch_url": launch_url,
            "expires_in": int(launch.LIFETIME.total_seconds()),
        }
    )
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return _cors(response)


def _clinician(data: dict[str, Any], tenant: Tenant) -> User | Response | None:
    """The clinician the launch is for (by e-mail or HPR number), who must work in `tenant`."""
    if data["user"] is None and data["hpr"] is None:
        return None
    query = (
        db.select(User).where(User.email == data["user"])
        if data["user"]
        else db.select(User).where(User.hpr_number == data["hpr"])
    )
    user = db.session.scalar(query)
    if user is None or not user.is_active or not has_role(user, [Role.CLINICIAN], tenant.slug):
        audit.refused("launch", "unknown_user", tenant_id=tenant.id)
        response = jsonify(
            {
                "error": "invalid_request",
                "error_description": "No clinician of this municipality has that identity.",
            }
        )
        response.status_code = 422
        return _cors(response)
    return user
