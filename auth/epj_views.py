"""The built-in EPJ launcher pages: `/m/<tenant>/epj` (find a patient, choose an app, start it)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request
from flask.typing import ResponseReturnValue

from accounts.access import require_user, requires
from accounts.models import Role
from auth import audit, epj, patients
from catalog.texts import localized
from marketplace import tenants
from torget.errors import DomainError, Invalid, render_error

bp = Blueprint("epj", __name__, template_folder="templates")


@bp.get("/m/<tenant>/epj")
@requires(Role.CLINICIAN, organisation_arg="tenant")
def launcher(tenant: str) -> ResponseReturnValue:
    found_tenant = tenants.get_by_slug(tenant)
    user = require_user()
    text = request.args.get("q", "")
    chosen_id = request.args.get("patient", "")
    found, chosen, encounters, error, status = [], None, [], None, 200
    try:
        if chosen_id:
            chosen = epj.patient(found_tenant, chosen_id)
            encounters = patients.directory().encounters(found_tenant, chosen.id, limit=10)
        else:
            found = patients.directory().search(found_tenant, text, limit=20)
    except Invalid as refused:
        error, status = refused, 422
    return render_template(
        "auth/epj.html",
        tenant=found_tenant,
        text=text,
        found=found,
        chosen=chosen,
        encounters=encounters,
        apps=epj.apps(user, found_tenant) if chosen else [],
        error=error,
        localized=localized,
    ), status


@bp.post("/m/<tenant>/epj/start")
@requires(Role.CLINICIAN, organisation_arg="tenant")
def start(tenant: str) -> ResponseReturnValue:
    found_tenant = tenants.get_by_slug(tenant)
    user = require_user()
    form = request.form
    try:
        url = epj.start(
            user,
            found_tenant,
            app_slug=form.get("app", ""),
            patient_id=form.get("patient", ""),
            encounter_id=form.get("encounter") or None,
        )
    except DomainError as refused:
        # Answered here, not raised: a raised error rolls back, and the refusal is audited.
        audit.refused(
            "launch", "refused", tenant_id=found_tenant.id, user_id=user.id, detail=str(refused)
        )
        return render_error(refused)
    audit.record(
        "launch",
        "created",
        tenant_id=found_tenant.id,
        user_id=user.id,
        detail=f"EPJ launcher: {form.get('app', '')[:64]}",
    )
    # 303: the browser follows with a GET to the app's launch URL.
    return redirect(url, code=303)
