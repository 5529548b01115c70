"""The reviewer console (/review/...): queue, release review, criteria, vendor verification.

When a service refuses an action (an illegal transition, a missing reason, a
criterion still open, a concurrent edit) the page is shown again with the
service's message on the form that was sent and the refusal's status (409,
412 or 422), and nothing of the request is written. Forbidden and NotFound go
to the shell's error page: there is no form to show them on.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from accounts.access import require_user, requires
from accounts.forms import ConfirmForm
from accounts.models import Role, User
from catalog import criteria, files, releases, reviews, vendors
from catalog.models import Release, ReleaseState
from catalog.review_forms import (
    CertifyForm,
    CheckForm,
    CriterionEditForm,
    CriterionForm,
    ReinstateForm,
    RejectForm,
    RevokeForm,
    SuspendForm,
)
from catalog.texts import localized
from torget.errors import Conflict, Invalid, PreconditionFailed
from torget.forms import refuse

bp = Blueprint("review", __name__, url_prefix="/review", template_folder="templates")

# Refusals a reviewer can act on from the same page; anything else is an error page.
_REFUSALS = (Conflict, Invalid, PreconditionFailed)

# The decision forms of the release page, by the prefix that keeps their field ids apart.
_DECISION_FORMS: dict[str, type[FlaskForm]] = {
    "start": ConfirmForm,
    "certify": CertifyForm,
    "reject": RejectForm,
    "suspend": SuspendForm,
    "reinstate": ReinstateForm,
    "revoke": RevokeForm,
}


# --- the queue and lists -------------------------------------------------------


@bp.get("/")
@requires(Role.REVIEWER)
def queue() -> ResponseReturnValue:
    """Releases waiting for a decision, the longest waiting first."""
    return render_template(
        "catalog/review/queue.html", items=reviews.queue(), states=reviews.LISTED_STATES
    )


@bp.get("/releases")
@requires(Role.REVIEWER)
def release_list() -> ResponseReturnValue:
    """Releases in one state (`?state=certified`), to find one to suspend or revoke."""
    state = request.args.get("state", ReleaseState.CERTIFIED.value)
    return render_template(
        "catalog/review/releases.html",
        releases=reviews.in_state(state),
        state=state,
        states=reviews.LISTED_STATES,
    )


# --- one release -----------------------------------------------------------------


def _release_page(
    release: Release, sent: dict[str, FlaskForm] | None = None, status: int = 200
) -> ResponseReturnValue:
    """The release page; `sent` is a form that came back refused, shown with its errors."""
    user = require_user()
    active = criteria.active()
    # Fresh forms read no request data: only the form that was sent shows what was typed.
    forms: dict[str, FlaskForm] = {
        prefix: form_class(formdata=None, prefix=prefix)
        for prefix, form_class in _DECISION_FORMS.items()
    }
    checks = {check.criterion_id: check for check in release.checks}
    for criterion in active:
        check = checks.get(criterion.id)
        forms[f"check-{criterion.id}"] = CheckForm(
            formdata=None,
            prefix=f"check-{criterion.id}",
            outcome=check.outcome.value if check else None,
            comment=check.comment if check else "",
        )
    forms.update(sent or {})
    previous = releases.previous_certified(release)
    diff = releases.diff(previous, release)
    active_ids = {c.id for c in active}
    return render_template(
        "catalog/review/release.html",
        release=release,
        application=release.application,
        vendor=release.application.vendor,
        conflicted=vendors.is_member(user, release.application.vendor),
        previous=previous,
        diff=diff,
        # Against a previous certified release, each scope is marked new or removed.
        marks=(
            {s: "added" for s in diff.added} | {s: "removed" for s in diff.removed}
            if previous
            else {}
        ),
        criteria=active,
        checks=checks,
        other_evidence=[e for e in release.evidence if e.criterion_id not in active_ids],
        unresolved=reviews.unresolved(release),
        history=releases.history(release),
        forms=forms,
        localized=localized,
        sent=list((sent or {}).values()),
    ), status


@bp.get("/releases/<int:release_id>")
@requires(Role.REVIEWER)
def release(release_id: int) -> ResponseReturnValue:
    """Everything the vendor submitted, the checklist and the decisions."""
    return _release_page(reviews.get(release_id))


@bp.get("/releases/<int:release_id>/evidence/<int:evidence_id>")
@requires(Role.REVIEWER)
def evidence(release_id: int, evidence_id: int) -> Response:
    """An evidence document, as a download: never shown in the console's origin."""
    item = releases.get_evidence(reviews.get(release_id), evidence_id)
    return files.send_stored(item.sha256, item.content_type, download_name=item.filename)


def _decide(
    release_id: int,
    prefix: str,
    form: FlaskForm,
    decision: Callable[[Release, User], object],
    done: str,
    anchor: str | None = None,
) -> ResponseReturnValue:
    """Run one reviewer action from the release page, or show the page with why not."""
    release = reviews.get(release_id)
    user = require_user()
    # Independence before input: a reviewer from the release's vendor hears
    # 403 whatever the form held (issue 4: no review of one's own vendor).
    reviews.require_reviewer(user, release)
    if not form.validate_on_submit():
        return _release_page(release, {prefix: form}, 422)
    try:
        decision(release, user)
    except _REFUSALS as error:
        return _release_page(release, {prefix: form}, refuse(form, error))
    flash(done, "success")
    return redirect(url_for("review.release", release_id=release.id, _anchor=anchor), code=303)


@bp.post("/releases/<int:release_id>/checks/<int:criterion_id>")
@requires(Role.REVIEWER)
def record_check(release_id: int, criterion_id: int) -> ResponseReturnValue:
    criterion = criteria.get(criterion_id)
    prefix = f"check-{criterion.id}"
    form = CheckForm(prefix=prefix)
    return _decide(
        release_id,
        prefix,
        form,
        lambda release, user: reviews.record_check(
            release, criterion, form.outcome.data or "", form.comment.data or "", by=user
        ),
        _("The finding on %(code)s is saved.", code=criterion.code),
        anchor=f"criterion-{criterion.id}",
    )


@bp.post("/releases/<int:release_id>/start")
@requires(Role.REVIEWER)
def start(release_id: int) -> ResponseReturnValue:
    return _decide(
        release_id,
        "start",
        ConfirmForm(prefix="start"),
        lambda release, user: reviews.start(release, by=user),
        _("The review has started."),
    )


@bp.post("/releases/<int:release_id>/certify")
@requires(Role.REVIEWER)
def certify(release_id: int) -> ResponseReturnValue:
    form = CertifyForm(prefix="certify")
    return _decide(
        release_id,
        "certify",
        form,
        lambda release, user: reviews.certify(release, by=user, comment=form.comment.data or ""),
        _("The release is certified. The vendor's production client is ready."),
    )


@bp.post("/releases/<int:release_id>/reject")
@requires(Role.REVIEWER)
def reject(release_id: int) -> ResponseReturnValue:
    form = RejectForm(prefix="reject")
    return _decide(
        release_id,
        "reject",
        form,
        lambda release, user: reviews.reject(release, by=user, reason=form.reason.data or ""),
        _("The release is rejected. The vendor sees your reason."),
    )


@bp.post("/releases/<int:release_id>/suspend")
@requires(Role.REVIEWER)
def suspend(release_id: int) -> ResponseReturnValue:
    form = SuspendForm(prefix="suspend")
    return _decide(
        release_id,
        "suspend",
        form,
        lambda release, user: reviews.suspend(release, by=user, reason=form.reason.data or ""),
        _("The release is suspended: it launches nowhere until it is reinstated."),
    )


@bp.post("/releases/<int:release_id>/reinstate")
@requires(Role.REVIEWER)
def reinstate(release_id: int) -> ResponseReturnValue:
    form = ReinstateForm(prefix="reinstate")
    return _decide(
        release_id,
        "reinstate",
        form,
        lambda release, user: reviews.reinstate(release, by=user, reason=form.reason.data or ""),
        _("The release is reinstated."),
    )


@bp.post("/releases/<int:release_id>/revoke")
@requires(Role.REVIEWER)
def revoke(release_id: int) -> ResponseReturnValue:
    form = RevokeForm(prefix="revoke")
    return _decide(
        release_id,
        "revoke",
        form,
        lambda release, user: reviews.revoke(release, by=user, reason=form.reason.data or ""),
        _("The release is revoked for good."),
    )


# --- criteria ----------------------------------------------------------------------


def _criteria_page(retire_form: FlaskForm, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "catalog/review/criteria.html",
        criteria=criteria.all_criteria(),
        retire_form=retire_form,
    ), status


@bp.get("/criteria")
@requires(Role.REVIEWER)
def criteria_list() -> ResponseReturnValue:
    """The defined minimum requirements, active and retired."""
    return _criteria_page(ConfirmForm())


@bp.route("/criteria/new", methods=["GET", "POST"])
@requires(Role.REVIEWER)
def new_criterion() -> ResponseReturnValue:
    form = CriterionForm()
    status = 200
    if form.validate_on_submit():
        try:
            created = criteria.create(form.to_input(), by=require_user())
        except _REFUSALS as error:
            status = refuse(form, error)
        else:
            flash(_("The criterion %(code)s is created.", code=created.code), "success")
            return redirect(url_for("review.criteria_list"), code=303)
    elif form.is_submitted():
        status = 422
    return render_template("catalog/review/criterion_form.html", form=form, criterion=None), status


@bp.route("/criteria/<int:criterion_id>/edit", methods=["GET", "POST"])
@requires(Role.REVIEWER)
def edit_criterion(criterion_id: int) -> ResponseReturnValue:
    criterion = criteria.get(criterion_id)
    # Stored values only fill the page: a post missing `version_id` must not
    # pass as the current version and skip the concurrent-edit check.
    form = CriterionEditForm() if request.method == "POST" else CriterionEditForm(obj=criterion)
    status = 200
    if form.validate_on_submit():
        try:
            criteria.update(
                criterion,
                form.to_input(code=criterion.code),
                by=require_user(),
                expected_version=form.version_id.data,
            )
        except _REFUSALS as error:
            status = refuse(form, error)
        else:
            flash(_("The criterion %(code)s is saved.", code=criterion.code), "success")
            return redirect(url_for("review.criteria_list"), code=303)
    elif form.is_submitted():
        status = 422
    return render_template(
        "catalog/review/criterion_form.html", form=form, criterion=criterion
    ), status


@bp.post("/criteria/<int:criterion_id>/retire")
@requires(Role.REVIEWER)
def retire_criterion(criterion_id: int) -> ResponseReturnValue:
    criterion = criteria.get(criterion_id)
    form = ConfirmForm()
    try:
        criteria.retire(criterion, by=require_user())
    except _REFUSALS as error:
        return _criteria_page(form, refuse(form, error))
    flash(_("The criterion %(code)s is retired.", code=criterion.code), "success")
    return redirect(url_for("review.criteria_list"), code=303)


# --- vendors (operators) ---------------------------------------------------------------


def _vendors_page(verify_form: FlaskForm, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "catalog/review/vendors.html",
        vendors=sorted(vendors.list_vendors(), key=lambda v: v.name.casefold()),
        verify_form=verify_form,
    ), status


@bp.get("/vendors")
@requires(Role.OPERATOR)
def vendor_list() -> ResponseReturnValue:
    """Every vendor, verified or not, for an operator to verify."""
    return _vendors_page(ConfirmForm())


@bp.post("/vendors/<slug>/verify")
@requires(Role.OPERATOR)
def verify_vendor(slug: str) -> ResponseReturnValue:
    vendor = vendors.get_by_slug(slug)
    form = ConfirmForm()
    try:
        vendors.verify(vendor, by=require_user())
    except _REFUSALS as error:
        return _vendors_page(form, refuse(form, error))
    flash(_("%(vendor)s is verified.", vendor=vendor.name), "success")
    return redirect(url_for("review.vendor_list"), code=303)
