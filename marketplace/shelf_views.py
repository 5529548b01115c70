"""The clinician's app shelf (/m/<tenant>/shelf), asking for an app, and the admins' queue."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from accounts.access import login_required, require_user, requires
from accounts.models import Role
from catalog import applications
from catalog.texts import localized
from marketplace import shelf, tenants
from marketplace.shelf_forms import AnswerForm, AskForm
from torget.errors import Conflict, Invalid, NotFound
from torget.forms import refuse

bp = Blueprint("shelf", __name__, template_folder="templates")


@bp.get("/shelf")
@login_required
def my_shelf() -> ResponseReturnValue:
    """To the shelf of the clinician's municipality (the first, when they work in several)."""
    found = shelf.clinician_tenants(require_user())
    if not found:
        return render_template("marketplace/shelf/none.html"), 404
    return redirect(url_for("shelf.tenant_shelf", tenant=found[0].slug), code=303)


@bp.get("/m/<tenant>/shelf")
@requires(Role.CLINICIAN, organisation_arg="tenant")
def tenant_shelf(tenant: str) -> ResponseReturnValue:
    user = require_user()
    found = tenants.get_by_slug(tenant)
    return render_template(
        "marketplace/shelf/shelf.html",
        tenant=found,
        enablements=shelf.apps_for(user, found),
        requests=[r for r in shelf.my_requests(user) if r.tenant_id == found.id],
        localized=localized,
    )


@bp.route("/apps/<slug>/request", methods=["GET", "POST"])
@login_required
def ask(slug: str) -> ResponseReturnValue:
    """Ask one's municipality for an app from the catalog."""
    user = require_user()
    application = applications.get_by_slug(slug)
    places = shelf.clinician_tenants(user)
    if not places:
        raise NotFound(_("Only health personnel of a municipality ask for apps."))
    form = AskForm()
    form.tenant.choices = [(t.slug, t.name) for t in places]
    status = 200
    if form.validate_on_submit():
        # A municipality not among the person's is refused by the service (403), never
        # swapped for another: the request would reach admins the person did not choose.
        chosen = tenants.get_by_slug(form.tenant.data or "")
        try:
            shelf.ask_for(application, chosen, message=form.message.data or "", by=user)
        except (Conflict, Invalid) as error:
            status = refuse(form, error)
        else:
            flash(
                _(
                    "Your request for %(app)s went to %(tenant)s's administrators.",
                    app=application.name,
                    tenant=chosen.name,
                ),
                "success",
            )
            return redirect(url_for("shelf.tenant_shelf", tenant=chosen.slug), code=303)
    elif form.is_submitted():
        status = 422
    return render_template(
        "marketplace/shelf/ask.html", application=application, form=form, several=len(places) > 1
    ), status


@bp.get("/m/<tenant>/requests")
@requires(Role.MUNICIPAL_ADMIN, organisation_arg="tenant")
def request_queue(tenant: str) -> ResponseReturnValue:
    found = tenants.get_by_slug(tenant)
    return render_template(
        "marketplace/shelf/requests.html",
        tenant=found,
        requests=shelf.requests_of(found, by=require_user()),
        form=AnswerForm(formdata=None),
    )


@bp.post("/m/<tenant>/requests/<int:request_id>/answer")
@requires(Role.MUNICIPAL_ADMIN, organisation_arg="tenant")
def answer(tenant: str, request_id: int) -> ResponseReturnValue:
    found = tenants.get_by_slug(tenant)
    form = AnswerForm()
    try:
        shelf.answer(found, request_id, text=form.answer.data or "", by=require_user())
    except (Conflict, Invalid) as error:
        status = refuse(form, error)
        return render_template(
            "marketplace/shelf/requests.html",
            tenant=found,
            requests=shelf.requests_of(found, by=require_user()),
            form=form,
            failed=request_id,
        ), status
    flash(_("The answer is sent."), "success")
    return redirect(url_for("shelf.request_queue", tenant=found.slug), code=303)
