"""The municipal admin's pages (/m/<tenant>/...): enabled apps, approvals, re-consent, disable.

Only the municipality's own administrators reach them: `requires` checks the
role in the organisation named by the URL, and the services ask again, so an
admin of Bergen gets 403 on Oslo's pages and nothing changes. A form the
service refuses (a scope the release did not register, enabling twice, a
stale page) is shown again with the service's reasons and the refusal's
status (409, 412 or 422), and nothing of that request is written. Forbidden
and NotFound go to the shell's error page: there is no form to show them on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from accounts.access import require_user, requires
from accounts.models import Role, User
from catalog import applications, releases
from catalog.models import Application, Audience, Release, ReleaseEvent, ReleaseState
from marketplace import enablements, tenants, terms
from marketplace.admin_forms import (
    AccessForm,
    ApproveForm,
    DisableForm,
    EnableForm,
    MoveForm,
    exit_step_label,
    launch_role_label,
    scope_choices,
)
from marketplace.models import Enablement, EnablementEventKind, EnablementState, Tenant
from torget.errors import Conflict, Invalid, PreconditionFailed
from torget.forms import refuse

bp = Blueprint("municipal", __name__, url_prefix="/m/<tenant>", template_folder="templates")

# Every page here: the municipality's own administrators only.
admin_only = requires(Role.MUNICIPAL_ADMIN, organisation_arg="tenant")

# Refusals an admin can act on from the same page; anything else is an error page.
_REFUSALS = (Conflict, Invalid, PreconditionFailed)
# The decisions that stop a release everywhere; their reason is shown to every tenant on it.
_STOPPING = frozenset({ReleaseState.SUSPENDED, ReleaseState.REVOKED})

EVENT_LABELS = {
    EnablementEventKind.ENABLED: _l("Enabled, terms accepted"),
    EnablementEventKind.RELEASE_CHANGED: _l("Moved to a new release"),
    EnablementEventKind.SCOPES_CHANGED: _l("Access changed"),
    EnablementEventKind.ROLES_CHANGED: _l("Roles changed"),
    EnablementEventKind.DISABLED: _l("Disabled"),
}


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "launch_role_label": launch_role_label,
        "exit_step_label": exit_step_label,
        "event_label": lambda kind: str(EVENT_LABELS[kind]),
        "terms": terms,
    }


def _stop_event(release: Release) -> ReleaseEvent | None:
    """The suspension or revocation that stopped `release`, for its reason."""
    return next((e for e in reversed(releases.history(release)) if e.to_state in _STOPPING), None)


def _find(tenant: str, slug: str) -> tuple[Tenant, Application]:
    return tenants.get_by_slug(tenant), applications.get_by_slug(slug)


# --- the municipality's apps ----------------------------------------------------


@dataclass(frozen=True)
class EnablementRow:
    """One line of the list: the enablement and the marks it needs."""

    enablement: Enablement
    newer: Release | None  # a newer certified release, waiting for the admin
    widening: list[str]  # what that release asks for beyond the pinned one
    stopped: bool
    stop_event: ReleaseEvent | None


def _row(enablement: Enablement) -> EnablementRow:
    active = enablement.state == EnablementState.ACTIVE
    newer = enablements.newer_release(enablement) if active else None
    stopped = enablements.is_stopped(enablement)
    return EnablementRow(
        enablement=enablement,
        newer=newer,
        widening=enablements.widening(enablement, newer) if newer else [],
        stopped=stopped,
        stop_event=_stop_event(enablement.release) if stopped else None,
    )


@bp.get("/apps")
@admin_only
def apps(tenant: str) -> ResponseReturnValue:
    """The municipality's enablements, active first, each with what needs attention."""
    found = tenants.get_by_slug(tenant)
    rows = [_row(enablement) for enablement in enablements.for_tenant(found)]
    return render_template("marketplace/admin/apps.html", tenant=found, rows=rows)


# --- enabling an app ------------------------------------------------------------------


@bp.route("/apps/<slug>/enable", methods=["GET", "POST"])
@admin_only
def enable(tenant: str, slug: str) -> ResponseReturnValue:
    """The release's scopes to approve, the roles that launch, the terms to accept."""
    found, application = _find(tenant, slug)
    release = enablements.release_to_enable(application)  # 409 when nothing is certified
    backend = application.audience == Audience.BACKEND
    # Least privilege: no scope is ticked in advance. The admin approves each
    # data access on purpose, as the data controller (behandlingsansvarlig);
    # a pre-ticked list would be approved unread. Clinicians are the usual
    # launchers, so that role is ticked; a backend service has no user at all.
    form = EnableForm(scopes=[], roles=[] if backend else [Role.CLINICIAN.value])
    form.offer_scopes(scope_choices(release.scope_list))
    form.offer_roles()
    status = 200
    if form.validate_on_submit():
        try:
            enablement = enablements.enable(
                found,
                application,
                form.access(),
                terms_version=form.accepted_terms_version(),
                by=require_user(),
            )
        except _REFUSALS as error:
            status = refuse(form, error)
        else:
            flash(
                _(
                    "%(app)s is enabled for %(tenant)s on release %(version)s.",
                    app=application.name,
                    tenant=found.name,
                    version=enablement.release.version,
                ),
                "success",
            )
            return redirect(
                url_for("municipal.enablement", tenant=found.slug, slug=application.slug),
                code=303,
            )
    elif form.is_submitted():
        status = 422
    return render_template(
        "marketplace/admin/enable.html",
        tenant=found,
        application=application,
        release=release,
        existing=enablements.find(found, application),
        backend=backend,
        form=form,
    ), status


# --- one enablement ------------------------------------------------------------------


def _enablement_page(
    found: Tenant,
    application: Application,
    sent: dict[str, FlaskForm] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """The enablement page; `sent` is a form that came back refused, shown with its errors."""
    enablement = enablements.get(found, application)
    release = enablement.release
    active = enablement.state == EnablementState.ACTIVE
    newer = enablements.newer_release(enablement) if active else None
    widening = enablements.widening(enablement, newer) if newer else []
    dropped = enablements.dropped_by(enablement, newer) if newer else []
    kept = [s for s in enablement.scope_list if s not in dropped]
    version = enablement.version_id
    target = newer.version if newer else ""
    # Fresh forms read no request data: only the form that was sent shows what was typed.
    forms: dict[str, FlaskForm] = {
        "access": AccessForm(
            formdata=None,
            prefix="access",
            scopes=enablement.scope_list,
            roles=list(enablement.roles),
            version_id=version,
        ),
        "move": MoveForm(formdata=None, prefix="move", version_id=version, release=target),
        # The new scopes start unticked: approving them is the point of this form.
        "approve": ApproveForm(
            formdata=None, prefix="approve", scopes=kept, version_id=version, release=target
        ),
        "disable": DisableForm(formdata=None, prefix="disable", version_id=version),
    }
    forms.update(sent or {})
    # The approval may be narrower than what the release registered: offer both.
    forms["access"].offer_scopes(scope_choices(release.scope_list, enablement.scope_list))
    forms["access"].offer_roles()
    forms["approve"].offer_scopes(scope_choices(newer.scope_list, kept) if newer else [])
    stopped = enablements.is_stopped(enablement)
    history = enablements.history(enablement)
    diff = releases.diff(release, newer) if newer else None
    return render_template(
        "marketplace/admin/enablement.html",
        tenant=found,
        application=application,
        enablement=enablement,
        release=release,
        active=active,
        backend=application.audience == Audience.BACKEND,
        stopped=stopped,
        stop_event=_stop_event(release) if stopped else None,
        newer=newer,
        diff=diff,
        widening=widening,
        dropped=dropped,
        history=history,
        disabled_event=next(
            (e for e in reversed(history) if e.kind == EnablementEventKind.DISABLED), None
        ),
        forms=forms,
        sent=list((sent or {}).values()),
    ), status


@bp.get("/apps/<slug>")
@admin_only
def enablement(tenant: str, slug: str) -> ResponseReturnValue:
    """One enablement: its release, approval, roles, history, and the forms that change it."""
    return _enablement_page(*_find(tenant, slug))


def _decide(
    tenant: str,
    slug: str,
    prefix: str,
    form: FlaskForm,
    action: Callable[[Enablement, User], Enablement],
    done: Callable[[Enablement], str],
) -> ResponseReturnValue:
    """Run one change from the enablement page, or show the page again with why not."""
    found, application = _find(tenant, slug)
    if not form.validate_on_submit():
        return _enablement_page(found, application, {prefix: form}, 422)
    try:
        changed = action(enablements.get(found, application), require_user())
    except _REFUSALS as error:
        return _enablement_page(found, application, {prefix: form}, refuse(form, error))
    flash(done(changed), "success")
    return redirect(
        url_for("municipal.enablement", tenant=found.slug, slug=application.slug), code=303
    )


@bp.post("/apps/<slug>/access")
@admin_only
def change_access(tenant: str, slug: str) -> ResponseReturnValue:
    form = AccessForm(prefix="access")
    return _decide(
        tenant,
        slug,
        "access",
        form,
        lambda enablement, user: enablements.change_access(
            enablement, form.access(), by=user, expected_version=form.version_id.data
        ),
        lambda enablement: _("The access to %(app)s is saved.", app=enablement.application.name),
    )


def _moved(enablement: Enablement) -> str:
    return _(
        "%(app)s now runs release %(version)s.",
        app=enablement.application.name,
        version=enablement.release.version,
    )


@bp.post("/apps/<slug>/move")
@admin_only
def move(tenant: str, slug: str) -> ResponseReturnValue:
    """One click: the newer release with the approval as it is (when it asks for nothing more)."""
    form = MoveForm(prefix="move")
    return _decide(
        tenant,
        slug,
        "move",
        form,
        lambda enablement, user: enablements.move_to_release(
            enablement,
            releases.get_for_app(enablement.application, form.release.data or ""),
            by=user,
            expected_version=form.version_id.data,
        ),
        _moved,
    )


@bp.post("/apps/<slug>/approve")
@admin_only
def approve(tenant: str, slug: str) -> ResponseReturnValue:
    """Approve the scopes the newer release asks for, and move to it."""
    form = ApproveForm(prefix="approve")
    return _decide(
        tenant,
        slug,
        "approve",
        form,
        lambda enablement, user: enablements.move_to_release(
            enablement,
            releases.get_for_app(enablement.application, form.release.data or ""),
            form.access(enablement),
            by=user,
            expected_version=form.version_id.data,
        ),
        _moved,
    )


@bp.post("/apps/<slug>/disable")
@admin_only
def disable(tenant: str, slug: str) -> ResponseReturnValue:
    """Turn the app off, with the data processing agreement's exit step."""
    form = DisableForm(prefix="disable")
    return _decide(
        tenant,
        slug,
        "disable",
        form,
        lambda enablement, user: enablements.disable(
            enablement,
            exit_step=form.exit_step.data or "",
            confirmed_by=form.confirmed_by.data or "",
            note=form.note.data or "",
            by=user,
            expected_version=form.version_id.data,
        ),
        lambda enablement: _(
            "%(app)s is disabled: it launches no more, and its tokens stop working.",
            app=enablement.application.name,
        ),
    )
