"""Joint enablement pages (/m/<tenant>/joint/...): propose for a group, decide for one's own."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from accounts.access import require_user, requires
from accounts.models import Role
from catalog import applications, labels, releases
from marketplace import enablements, joint, tenants, terms
from marketplace.enablements import Access
from marketplace.joint_forms import ApproveForm, DeclineForm, ProposeForm
from marketplace.models import JointProposal, Tenant
from torget.errors import Conflict, Invalid, NotFound
from torget.forms import refuse

bp = Blueprint("joint", __name__, url_prefix="/m/<tenant>/joint", template_folder="templates")

ADMIN = requires(Role.MUNICIPAL_ADMIN, organisation_arg="tenant")


@bp.get("/")
@ADMIN
def proposals(tenant: str) -> ResponseReturnValue:
    found = tenants.get_by_slug(tenant)
    return render_template(
        "marketplace/joint/list.html", tenant=found, proposals=joint.for_tenant(found)
    )


def _propose_form(found: Tenant, release_scopes: list[str]) -> ProposeForm:
    form = ProposeForm()
    form.tenants.choices = [(t.slug, t.name) for t in tenants.list_tenants() if t != found]
    form.scopes.choices = [(s, s) for s in release_scopes]
    form.roles.choices = [(r, r) for r in enablements.LAUNCH_ROLES]
    if not form.is_submitted():
        form.roles.data = ["clinician"]
    return form


@bp.route("/new/<slug>", methods=["GET", "POST"])
@ADMIN
def propose(tenant: str, slug: str) -> ResponseReturnValue:
    """Propose `slug` to a group of municipalities, this one included."""
    found = tenants.get_by_slug(tenant)
    application = applications.get_by_slug(slug)
    release = releases.current_certified(application)
    if release is None:
        raise NotFound(_("No app is listed at this address."))
    form = _propose_form(found, release.scope_list)
    status = 200
    if form.validate_on_submit():
        try:
            proposal = joint.propose(
                application,
                name=form.name.data or "",
                tenant_slugs=form.tenants.data or [],
                access=Access(scopes=form.scopes.data or [], roles=form.roles.data or []),
                proposer=found,
                by=require_user(),
            )
        except (Conflict, Invalid) as error:
            status = refuse(form, error)
        else:
            flash(_("The proposal went to the other municipalities' administrators."), "success")
            return redirect(
                url_for("joint.proposal", tenant=found.slug, proposal_id=proposal.id), 303
            )
    elif form.is_submitted():
        status = 422
    return render_template(
        "marketplace/joint/new.html",
        tenant=found,
        application=application,
        release=release,
        form=form,
    ), status


def _proposal_page(
    found: Tenant,
    proposal: JointProposal,
    status: int = 200,
    approve_form: ApproveForm | None = None,
) -> ResponseReturnValue:
    approve_form = approve_form or ApproveForm(formdata=None, terms_version=terms.VERSION)
    return render_template(
        "marketplace/joint/proposal.html",
        tenant=found,
        proposal=proposal,
        member=joint.member_of(proposal, found),
        shares=joint.cost_split(proposal),
        approve_form=approve_form,
        decline_form=DeclineForm(formdata=None),
        terms=terms,
        kroner=labels.kroner,
    ), status


@bp.get("/<int:proposal_id>")
@ADMIN
def proposal(tenant: str, proposal_id: int) -> ResponseReturnValue:
    found = tenants.get_by_slug(tenant)
    return _proposal_page(found, joint.get(proposal_id, found))


@bp.post("/<int:proposal_id>/approve")
@ADMIN
def approve(tenant: str, proposal_id: int) -> ResponseReturnValue:
    found = tenants.get_by_slug(tenant)
    proposal = joint.get(proposal_id, found)
    form = ApproveForm()
    # Accepting is a conscious act: the box unticked sends an empty version.
    version = (form.terms_version.data or "") if form.accept.data else ""
    try:
        joint.approve(proposal, found, terms_version=version, by=require_user())
    except (Conflict, Invalid) as error:
        return _proposal_page(found, proposal, refuse(form, error), approve_form=form)
    flash(
        _("%(app)s is enabled for %(tenant)s.", app=proposal.application.name, tenant=found.name),
        "success",
    )
    return redirect(url_for("joint.proposal", tenant=found.slug, proposal_id=proposal.id), 303)


@bp.post("/<int:proposal_id>/decline")
@ADMIN
def decline(tenant: str, proposal_id: int) -> ResponseReturnValue:
    found = tenants.get_by_slug(tenant)
    joint.decline(joint.get(proposal_id, found), found, by=require_user())
    flash(_("%(tenant)s does not join.", tenant=found.name), "success")
    return redirect(url_for("joint.proposal", tenant=found.slug, proposal_id=proposal_id), 303)
