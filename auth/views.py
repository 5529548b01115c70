"""The authorization server's endpoints for apps and resource servers (thin views).

`/oauth/authorize` is in auth.authorize_views; discovery in auth.discovery_views.
Every OAuth error is JSON as RFC 6749 §5.2 shapes it; a refusal keeps nothing
but its audit event (auth.audit.refused).
"""

from __future__ import annotations

import hmac
from typing import Any

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, current_app, g, jsonify, request
from flask_babel import force_locale

from accounts import api_tokens
from accounts.access import csrf_exempt
from accounts.models import Role, User
from auth import audit, clients, issuing, keys, status
from auth.identity import fhir_user
from auth.responses import NO_STORE, cors, no_store_json, oauth_error, preflight
from auth.server import ReplayRevokes
from auth.urls import fhir_base
from marketplace import usage
from torget import ratelimit
from torget.access import public
from torget.db import db, needs_write_lock, reads_without_write_lock, utcnow

bp = Blueprint("oauth", __name__, url_prefix="/oauth", template_folder="templates")


@bp.before_request
def _answer_preflight() -> Response | None:
    """A browser's CORS preflight is answered before any view runs."""
    return preflight() if request.method == "OPTIONS" else None


@bp.after_request
def _cors_on_every_answer(response: Response) -> Response:
    """Browser apps must be able to read every answer, refusals (a 429) included."""
    if request.endpoint != "oauth.authorize_endpoint":
        cors(response)
    return response


@bp.get("/jwks")
@public
@reads_without_write_lock
def jwks() -> Response:
    """The public keys that verify Torget's tokens: the current one and those just retired."""
    response = jsonify(keys.jwks())
    response.mimetype = "application/jwk-set+json"
    # Short: a rotation must reach verifiers well within a token's lifetime.
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


def _repeated_parameter() -> str | None:
    for name, values in request.form.lists():
        if len(values) > 1:
            return name
    return None


def client_id_of_request() -> str | None:
    """The client a token-endpoint request names (form or Basic), for its rate limit."""
    named = request.form.get("client_id") or (
        request.authorization.username if request.authorization else None
    )
    return named[:64] if named else None


@bp.route("/token", methods=["POST"])
@public
@csrf_exempt  # apps post here from their own origin; it reads no cookie
@ratelimit.rate_limit(
    "token", methods=["POST"], ip=ratelimit.client_ip, client=client_id_of_request
)
def token() -> Response:
    grant_type = request.form.get("grant_type", "")
    repeated = _repeated_parameter()
    if repeated:
        audit.refused(
            "token", "invalid_request", grant_type=grant_type, detail=f"repeated {repeated}"
        )
        return oauth_error("invalid_request", f"The parameter {repeated} was given more than once.")
    if grant_type not in {"authorization_code", "refresh_token", "client_credentials"}:
        audit.refused("token", "unsupported_grant_type", grant_type=grant_type)
        return oauth_error(
            "unsupported_grant_type",
            "Torget issues tokens for authorization_code, refresh_token and client_credentials.",
        )
    # Load the client as the municipality of the code or refresh token knows it.
    field = "code" if grant_type == "authorization_code" else "refresh_token"
    tenant = issuing.tenant_of_credential(grant_type, request.form.get(field))
    if tenant is not None:
        clients.use_tenant(tenant)
    server = current_app.extensions["torget_oauth"]
    try:
        # Error descriptions are for the app's developers, in printable ASCII
        # (RFC 6749 §5.2): English, whatever language a browser session chose.
        with force_locale("en"):
            grant = server.get_token_grant(server.create_oauth2_request(request))
            grant.validate_token_request()
            status_code, body, _headers = grant.create_token_response()
    except OAuth2Error as error:
        return _refused_token(error, grant_type)
    issued = g.get("oauth_grant")
    if issued is not None:
        _record_token(issued, grant_type)
    response = jsonify(body)
    response.status_code = status_code
    response.headers.update(NO_STORE)
    return response


def _refused_token(error: OAuth2Error, grant_type: str) -> Response:
    client_id = request.form.get("client_id") or (
        request.authorization.username if request.authorization else None
    )
    audit.refused(
        "token",
        error.error,
        client_id=client_id,
        grant_type=grant_type,
        detail=error.get_error_description() or "",
    )
    if isinstance(error, ReplayRevokes):
        issuing.revoke_grant(error.grant_id, "replay")
    headers = dict(error.get_headers())
    headers.pop("Content-Type", None)
    return oauth_error(
        error.error, error.get_error_description() or "", error.status_code, **headers
    )


def _record_token(grant: Any, grant_type: str) -> None:
    client = clients.load(grant.client_id)
    if client is not None:
        usage.record_token(grant.tenant, client.client.application, utcnow())
    audit.record(
        "token",
        "issued",
        client_id=grant.client_id,
        tenant_id=grant.tenant_id,
        user_id=grant.user_id,
        grant_type=grant_type,
    )


# --- introspection, revocation (RFC 7662, RFC 7009) ------------------------------------------


def _caller() -> tuple[str | None, bool]:
    """Who asks: (a client id, False), or (None, True) for a resource server (an operator).

    Resource servers authenticate with a Torget API token of an operator;
    clients with their own credentials, and see only their own tokens.
    """
    token = status.bearer(request.headers.get("Authorization"))
    if token is not None:
        return None, api_tokens.authenticate_role(token, [Role.OPERATOR])
    server = current_app.extensions["torget_oauth"]
    try:
        client = server.authenticate_client(
            server.create_oauth2_request(request), clients.ALL_AUTH_METHODS, "introspection"
        )
    except OAuth2Error:
        return None, False
    return client.client_id, False


@bp.route("/introspect", methods=["POST"])
@public
@csrf_exempt
@ratelimit.rate_limit("introspect", methods=["POST"], ip=ratelimit.client_ip)
@reads_without_write_lock
def introspect() -> Response:
    if request.form.get("client_assertion"):
        needs_write_lock()  # the assertion's jti is spent (written) after the client is read
    client_id, resource_server = _caller()
    if client_id is None and not resource_server:
        audit.refused("introspect", "invalid_client")
        return oauth_error(
            "invalid_client",
            "Authenticate as a client or a resource server.",
            401,
            **{"WWW-Authenticate": 'Basic realm="torget"'},
        )
    found = status.status(request.form.get("token", ""), request.form.get("token_type_hint"))
    if not found.active or (client_id is not None and found.claims.get("client_id") != client_id):
        return no_store_json({"active": False})
    return no_store_json(_introspection(found))


def _introspection(found: status.TokenStatus) -> dict[str, Any]:
    claims, facts = found.claims, found.facts
    assert facts is not None  # noqa: S101 - an active token has its grant
    body: dict[str, Any] = {
        "active": True,
        "token_type": "Bearer" if found.kind == "access_token" else "refresh_token",
        "scope": claims.get("scope", ""),
        "client_id": facts.client_id,
        "exp": claims.get("exp"),
        "iat": claims.get("iat"),
    }
    base = fhir_base(facts.tenant_slug)
    if found.kind == "access_token":
        body.update(
            {"iss": claims["iss"], "aud": claims["aud"], "sub": claims["sub"], "jti": claims["jti"]}
        )
    else:
        body["aud"] = base
    if facts.user_id is not None:
        body["sub"] = f"user-{facts.user_id}"
        body["fhirUser"] = f"{base}/Practitioner/{facts.practitioner}"
        body["username"] = facts.username
    if facts.patient:
        body["patient"] = facts.patient
    if facts.encounter:
        body["encounter"] = facts.encounter
    if facts.fhir_context:
        body["fhirContext"] = facts.fhir_context
    body["tenant"] = facts.tenant_slug
    return body


@bp.route("/revoke", methods=["POST"])
@public
@csrf_exempt
@ratelimit.rate_limit(
    "token", methods=["POST"], ip=ratelimit.client_ip, client=client_id_of_request
)
def revoke() -> Response:
    client_id, _resource_server = _caller()
    if client_id is None:
        audit.refused("revoke", "invalid_client")
        return oauth_error(
            "invalid_client",
            "Client authentication failed.",
            401,
            **{"WWW-Authenticate": 'Basic realm="torget"'},
        )
    value = request.form.get("token", "")
    found = status.status(value, request.form.get("token_type_hint"))
    # RFC 7009 §2.2: the answer is 200 whether or not the token was valid or the client's.
    if (
        found.active
        and found.facts is not None
        and hmac.compare_digest(found.facts.client_id, client_id)
    ):
        issuing.revoke_token(found)
        audit.record("revoke", "revoked", client_id=client_id, tenant_id=found.facts.tenant_id)
    return no_store_json({})


# --- UserInfo ---------------------------------------------------------------------------------


@bp.route("/userinfo", methods=["GET", "POST"])
@public
@csrf_exempt
@reads_without_write_lock
def userinfo() -> Response:
    found = status.of_bearer(request.headers.get("Authorization"))
    scopes = found.claims.get("scope", "").split() if found.active else []
    if (
        not found.active
        or "openid" not in scopes
        or found.facts is None
        or found.facts.user_id is None
    ):
        response = oauth_error("invalid_token", "A live access token with openid is needed.", 401)
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    user = db.session.get(User, found.facts.user_id)
    assert user is not None  # noqa: S101 - a grant's user is a foreign key
    body: dict[str, Any] = {"sub": f"user-{user.id}"}
    if "fhirUser" in scopes:
        body["fhirUser"] = fhir_user(user, found.claims["aud"])
    if "profile" in scopes:
        body["name"] = user.display_name
    return no_store_json(body)
