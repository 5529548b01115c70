"""`/oauth/authorize`: sign in, consent, the patient picker, and the code (GET and POST).

Thin: the checks live in auth.authorize, the code in auth.server's grant.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from flask import Response, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from accounts.access import csrf, csrf_exempt, current_user
from accounts.models import User
from auth import audit, authorize, clients, launch, patients
from auth.authorize import Consent, Front, PageError, RedirectError
from auth.identity import fhir_user
from auth.server import PendingAuthorization
from auth.urls import fhir_base, issuer
from auth.views import bp
from catalog import scopes as scope_rules
from marketplace import usage
from torget import csp, ratelimit
from torget.access import public
from torget.db import utcnow
from torget.errors import Invalid

# Form fields of the consent page that are not part of the OAuth request.
_CONSENT_FIELDS = {"csrf_token", "decision", "patient", "encounter", "patient_q"}


@bp.route("/authorize", methods=["GET", "POST"])
@public
@csrf_exempt  # an app may POST its request (SMART authorize-post); consent checks CSRF itself
@ratelimit.rate_limit("authorize", ip=ratelimit.client_ip)
def authorize_endpoint() -> Response:
    source = request.form if request.method == "POST" else request.args
    consenting = request.method == "POST" and "decision" in request.form
    raw = {k: v for k, v in source.to_dict(flat=False).items() if k not in _CONSENT_FIELDS}
    try:
        params = authorize.single_values(raw)
        front = authorize.check_front(params)
    except PageError as refused:
        audit.refused(
            "authorize",
            "refused_page",
            client_id=raw.get("client_id", [""])[0],
            detail=refused.message,
        )
        return _error_page(refused.message)
    user = current_user()
    if user is None:
        # Sign in first, then come back to the same request (as a GET).
        return redirect(
            url_for(
                "accounts.login", next=f"{url_for('oauth.authorize_endpoint')}?{urlencode(params)}"
            )
        )
    if consenting:
        csrf.protect()
    server = current_app.extensions["torget_oauth"]
    holder: dict[str, Any] = {}

    def authlib_check() -> None:
        holder["grant"] = server.get_consent_grant(end_user=user)

    try:
        consent = authorize.evaluate(front, user, authlib_check)
    except RedirectError as refused:
        return _refuse(front, user, refused.error, refused.description)
    if not consenting:
        return _consent_page(consent)
    if request.form.get("decision") != "approve":
        return _refuse(front, user, "access_denied", "The user declined.")
    return _approve(consent, user, holder["grant"])


def _approve(consent: Consent, user: User, grant: Any) -> Response:
    front = consent.front
    try:
        patient_id, encounter_id = authorize.chosen_context(
            consent, request.form.get("patient", ""), request.form.get("encounter", "")
        )
    except authorize.ChoiceMissing as missing:
        return _consent_page(consent, problem=missing.message, status=422)
    context = consent.launch
    if context is not None:
        try:
            launch.spend(front.params.get("launch", ""), client_id=front.client.client_id)
        except Invalid:
            return _refuse(front, user, "invalid_request", "The launch was used meanwhile.")
    g.oauth_pending = PendingAuthorization(
        tenant=front.tenant,
        user=user,
        launcher=consent.launcher,
        scope=consent.grant.scope,
        enablement=consent.decision.enablement,
        login_session_id=authorize.login_session_id(),
        patient=patient_id,
        encounter=encounter_id,
        intent=context.intent if context else None,
        fhir_context=list(context.fhir_context) if context else [],
        # An app started from the journal runs beside the journal's own patient banner.
        need_patient_banner=context is None,
        nonce=front.params.get("nonce") or None,
    )
    server = current_app.extensions["torget_oauth"]
    try:
        response = server.create_authorization_response(grant=grant, grant_user=user)
    except OAuth2Error as error:
        return _refuse(front, user, error.error, error.get_error_description() or "")
    location = response.headers["Location"]
    response.headers["Location"] = f"{location}&{urlencode({'iss': issuer()})}"
    application = consent.decision.release.application if consent.decision.release else None
    if application is not None:
        usage.record_launch(
            front.tenant, application, fhir_user(user, fhir_base(front.tenant.slug)), utcnow()
        )
    audit.record(
        "authorize",
        "code_issued",
        client_id=front.client.client_id,
        tenant_id=front.tenant.id,
        user_id=user.id,
        detail=consent.grant.scope,
    )
    return response


def _refuse(front: Front, user: User | None, error: str, description: str) -> Response:
    audit.refused(
        "authorize",
        error,
        client_id=front.client.client_id,
        tenant_id=front.tenant.id,
        user_id=user.id if user else None,
        detail=description,
    )
    values = {"error": error}
    if description:
        values["error_description"] = clients.error_description(description)[:300]
    return redirect(front.redirect_with(values), code=302)


def _error_page(message: str) -> Response:
    html = render_template(
        "errors/error.html",
        status=400,
        title=_("This sign-in request cannot be used"),
        detail=message,
    )
    return Response(html, status=400, mimetype="text/html")


def _consent_page(consent: Consent, *, problem: str | None = None, status: int = 200) -> Response:
    front = consent.front
    directory = patients.directory()
    query = request.values.get("patient_q", "")[:100]
    found = []
    if consent.needs_patient:
        try:
            found = directory.search(front.tenant, query)
        except Invalid:
            found = []
    chosen_patient = request.values.get("patient", "")
    encounters = []
    if consent.needs_encounter and chosen_patient:
        encounters = directory.encounters(front.tenant, chosen_patient)
    html = render_template(
        "auth/consent.html",
        consent=consent,
        params=front.params,
        granted=[(s.text, scope_rules.explain(s)) for s in consent.grant.granted],
        dropped=consent.grant.dropped,
        patients=found,
        patient_query=query,
        chosen_patient=chosen_patient,
        encounters=encounters,
        problem=problem,
    )
    # The form ends in a redirect to the app, which the browser checks against form-action.
    csp.allow_form_redirect_to(front.redirect_uri)
    return Response(html, status=status, mimetype="text/html")
