"""The vendor portal (/vendor/...): apps, releases, evidence, submission, credentials.

Every page is for members of the vendor whose page it is: the services refuse
anyone else (403), and the read-only pages ask the same question through
`vendors.require_member` before they show anything.

A form the services refuse is shown again with their reasons on its fields,
as 422 (or 412 when someone else saved first), and nothing of that request is
written.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.exceptions import RequestEntityTooLarge

from accounts import sign_in
from accounts.access import current_user, login_required, require_user, start_browser_session
from accounts.forms import ConfirmForm
from catalog import applications, credentials, criteria, files, releases, vendors
from catalog.models import (
    Application,
    Client,
    Criterion,
    Evidence,
    Release,
    ReleaseEvent,
    ReleaseState,
    Vendor,
)
from catalog.texts import localized
from catalog.vendor_forms import (
    DraftForm,
    EvidenceForm,
    InviteForm,
    ListingForm,
    LogoForm,
    NewAccountForm,
    NewAccountSignUpForm,
    NewApplicationForm,
    NewReleaseForm,
    ProfileForm,
    RotateForm,
    ScreenshotForm,
    SignUpForm,
)
from torget.access import public
from torget.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    PreconditionFailed,
    render_error,
)
from torget.forms import refuse
from torget.limits import body_limit

bp = Blueprint("vendor", __name__, url_prefix="/vendor", template_folder="templates")

MB = files.MB
# Room for the form's other fields and the multipart framing around the file:
# a file a little over its limit still reaches the service, which names the limit.
_FORM_MARGIN = 1 * MB
IMAGE_BODY_LIMIT = max(files.IMAGE_LIMITS.values()) + _FORM_MARGIN
DOCUMENT_BODY_LIMIT = files.DOCUMENT_LIMIT + _FORM_MARGIN
# The states whose reason the vendor must see first on the release page.
_DECIDED_WITH_REASON = {ReleaseState.REJECTED, ReleaseState.SUSPENDED, ReleaseState.REVOKED}


class FileTooLarge(DomainError):
    status = 413
    title = _l("The file is too large")


_UPLOADS = {"vendor.upload_logo", "vendor.add_screenshot", "vendor.upload_evidence"}


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge) -> Response:
    # The body is refused before any view runs (the CSRF check reads the
    # form), so the page cannot show the form again; it says what fits.
    g.torget_rollback = True
    if request.endpoint not in _UPLOADS:
        return render_error(error)
    return render_error(
        FileTooLarge(
            _(
                "A logo is at most %(logo)d MB, a screenshot %(screenshot)d MB and an evidence "
                "document %(document)d MB. Go back and choose a smaller file.",
                logo=files.IMAGE_LIMITS["logo"] // MB,
                screenshot=files.IMAGE_LIMITS["screenshot"] // MB,
                document=files.DOCUMENT_LIMIT // MB,
            )
        )
    )


def _refused(form: FlaskForm, error: DomainError) -> int:
    """Put the service's reasons on `form`; the status to show it again with.

    To the browser the form as sent could not be processed (422), whatever
    the service's own status (a duplicate slug is its 409); a stale edit keeps
    its 412, so the person knows to reload rather than to correct.
    """
    status = refuse(form, _numbered(error))
    return status if isinstance(error, PreconditionFailed) else 422


def _numbered(error: DomainError) -> DomainError:
    """Name the line of a text box a message is about ("redirect_uris.2": line 3)."""
    fields: dict[str, list[str]] = {}
    for name, messages in error.fields.items():
        head, _dot, index = name.rpartition(".")
        if head == "redirect_uris" and index.isdigit():
            messages = [_("Line %(n)d: %(message)s", n=int(index) + 1, message=m) for m in messages]
        elif head == "jwks.keys" and index.isdigit():
            messages = [_("Key %(n)d: %(message)s", n=int(index) + 1, message=m) for m in messages]
        fields.setdefault(name, []).extend(messages)
    return type(error)(error.detail, fields=fields)


def _my_vendor(slug: str) -> Vendor:
    vendor = vendors.get_by_slug(slug)
    vendors.require_member(require_user(), vendor)
    return vendor


def _my_application(slug: str) -> Application:
    application = applications.get_by_slug(slug)
    vendors.require_member(require_user(), application.vendor)
    return application


def _my_release(slug: str, version: str) -> Release:
    return releases.get_for_app(_my_application(slug), version)


# --- the dashboard and sign-up -------------------------------------------------


@dataclass(frozen=True)
class AppOverview:
    application: Application
    releases: list[Release]
    # Warnings of the daily evidence check on releases tenants can launch.
    notices: list[tuple[Release, ReleaseEvent]]


def _overview(vendor: Vendor) -> list[AppOverview]:
    out = []
    for application in applications.for_vendor(vendor):
        mine = releases.for_application(application)
        notices = [
            (release, event)
            for release in mine
            if release.state in releases.LAUNCHABLE
            for event in releases.history(release)
            if event.to_state is None
        ]
        out.append(AppOverview(application=application, releases=mine, notices=notices))
    return out


@bp.get("/")
@login_required
def dashboard() -> ResponseReturnValue:
    """The signed-in person's vendors, their apps and releases (or the sign-up offer)."""
    mine = vendors.vendors_of(require_user())
    return render_template(
        "catalog/vendor/dashboard.html",
        vendors=[(vendor, _overview(vendor)) for vendor in mine],
    )


@bp.route("/signup", methods=["GET", "POST"])
@public
def signup() -> ResponseReturnValue:
    """Register a vendor; the person signing up becomes its first member.

    A visitor without an account makes one here too, and is signed in.
    """
    user = current_user()
    form = SignUpForm() if user else NewAccountSignUpForm()
    status = 200
    if form.validate_on_submit():
        try:
            if user:
                vendor = vendors.sign_up(
                    user,
                    name=form.name.data or "",
                    organisation_number=form.organisation_number.data or "",
                    profile=form.profile(),
                )
            else:
                vendor, user = vendors.sign_up_with_account(
                    form.account(),
                    name=form.name.data or "",
                    organisation_number=form.organisation_number.data or "",
                    profile=form.profile(),
                )
                start_browser_session(sign_in.start_for_new_user(user))
        except (Invalid, Conflict) as error:
            status = _refused(form, error)
        else:
            flash(_("%(vendor)s is registered. Welcome!", vendor=vendor.name), "success")
            return redirect(url_for("vendor.dashboard"), code=303)
    elif form.is_submitted():
        status = 422
    return render_template("catalog/vendor/signup.html", form=form), status


# --- the vendor's profile and members -------------------------------------------


@bp.route("/org/<vendor_slug>/profile", methods=["GET", "POST"])
@login_required
def profile(vendor_slug: str) -> ResponseReturnValue:
    vendor = _my_vendor(vendor_slug)
    form = ProfileForm(obj=vendor if request.method == "GET" else None)
    status = 200
    if form.validate_on_submit():
        try:
            vendors.update_profile(vendor, form.profile())
        except Invalid as error:
            status = _refused(form, error)
        else:
            flash(_("The profile is saved."), "success")
            return redirect(url_for("vendor.profile", vendor_slug=vendor.slug), code=303)
    elif form.is_submitted():
        status = 422
    return render_template("catalog/vendor/profile.html", vendor=vendor, form=form), status


def _render_members(
    vendor: Vendor,
    *,
    form: InviteForm | None = None,
    link: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    return (
        render_template(
            "catalog/vendor/members.html",
            vendor=vendor,
            members=vendors.members(vendor),
            invitations=vendors.open_invitations(vendor),
            form=form or InviteForm(formdata=None),
            confirm_form=ConfirmForm(formdata=None),
            link=link,
        ),
        status,
    )


@bp.get("/org/<vendor_slug>/members")
@login_required
def members(vendor_slug: str) -> ResponseReturnValue:
    return _render_members(_my_vendor(vendor_slug))


@bp.post("/org/<vendor_slug>/invitations")
@login_required
def invite(vendor_slug: str) -> ResponseReturnValue:
    """Invite a member: the link is on this response only, never stored or sent again."""
    vendor = _my_vendor(vendor_slug)
    form = InviteForm()
    if not form.validate_on_submit():
        return _render_members(vendor, form=form, status=422)
    try:
        issued = vendors.invite(vendor, form.email.data or "", by=require_user())
    except (Invalid, Conflict) as error:
        return _render_members(vendor, form=form, status=_refused(form, error))
    link = url_for("vendor.invitation", token=issued.token, _external=True)
    return _render_members(vendor, link=link, status=201)


@bp.post("/org/<vendor_slug>/invitations/<int:invitation_id>/revoke")
@login_required
def revoke_invitation(vendor_slug: str, invitation_id: int) -> ResponseReturnValue:
    vendor = vendors.get_by_slug(vendor_slug)
    vendors.revoke_invitation(vendor, invitation_id, by=require_user())
    flash(_("The invitation is revoked: its link no longer works."), "success")
    return redirect(url_for("vendor.members", vendor_slug=vendor.slug), code=303)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@public
def invitation(token: str) -> ResponseReturnValue:
    """Whose invitation this is, and the button that accepts it.

    A signed-in person accepts with one click; someone without an account
    creates one for the invited address on the same form.
    """
    user = current_user()
    form = ConfirmForm() if user else NewAccountForm()
    status = 200
    if form.validate_on_submit():
        try:
            if user:
                vendor = vendors.accept_invitation(token, user)
            else:
                vendor, user = vendors.accept_invitation_with_account(
                    token,
                    display_name=form.display_name.data or "",
                    password=form.password.data or "",
                )
                start_browser_session(sign_in.start_for_new_user(user))
        except (Invalid, Conflict) as error:
            status = _refused(form, error)
        else:
            flash(_("You are now a member of %(vendor)s.", vendor=vendor.name), "success")
            return redirect(url_for("vendor.dashboard"), code=303)
    elif form.is_submitted():
        status = 422
    return render_template(
        "catalog/vendor/invitation.html", invitation=vendors.find_invitation(token), form=form
    ), status


# --- applications ----------------------------------------------------------------


@bp.route("/org/<vendor_slug>/apps/new", methods=["GET", "POST"])
@login_required
def new_application(vendor_slug: str) -> ResponseReturnValue:
    vendor = _my_vendor(vendor_slug)
    form = NewApplicationForm()
    status = 200
    if form.validate_on_submit():
        try:
            application = applications.create(
                vendor, slug=form.slug.data or "", listing=form.listing(), by=require_user()
            )
        except (Invalid, Conflict) as error:
            status = _refused(form, error)
        else:
            flash(_("%(app)s is registered.", app=application.name), "success")
            return redirect(url_for("vendor.application", slug=application.slug), code=303)
    elif form.is_submitted():
        status = 422
    return (
        render_template("catalog/vendor/application_form.html", vendor=vendor, form=form),
        status,
    )


@bp.route("/apps/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit_application(slug: str) -> ResponseReturnValue:
    """The listing, with the row version the page showed: a stale save is refused, not lost."""
    application = _my_application(slug)
    form = ListingForm()
    status = 200
    if request.method == "GET":
        form.fill_from(application)
    elif form.validate_on_submit():
        try:
            applications.update(
                application,
                form.listing(),
                by=require_user(),
                expected_version=form.version_id.data,
            )
        except (Invalid, Conflict, PreconditionFailed) as error:
            status = _refused(form, error)
        else:
            flash(_("The listing is saved."), "success")
            return redirect(url_for("vendor.application", slug=application.slug), code=303)
    else:
        status = 422
    return (
        render_template(
            "catalog/vendor/application_form.html",
            vendor=application.vendor,
            application=application,
            form=form,
        ),
        status,
    )


def _render_application(
    application: Application,
    *,
    logo_form: LogoForm | None = None,
    screenshot_form: ScreenshotForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    return (
        render_template(
            "catalog/vendor/application.html",
            application=application,
            releases=releases.for_application(application),
            logo_form=logo_form or LogoForm(formdata=None),
            screenshot_form=screenshot_form or ScreenshotForm(formdata=None),
            confirm_form=ConfirmForm(formdata=None),
        ),
        status,
    )


@bp.get("/apps/<slug>")
@login_required
def application(slug: str) -> ResponseReturnValue:
    return _render_application(_my_application(slug))


@bp.post("/apps/<slug>/logo")
@login_required
@body_limit(IMAGE_BODY_LIMIT)
def upload_logo(slug: str) -> ResponseReturnValue:
    application = _my_application(slug)
    form = LogoForm()
    if not form.validate_on_submit():
        return _render_application(application, logo_form=form, status=422)
    try:
        image = files.store_image(form.logo.data.stream, "logo")
        applications.set_logo(application, image, by=require_user())
    except Invalid as error:
        return _render_application(application, logo_form=form, status=_refused(form, error))
    flash(_("The logo is saved."), "success")
    return redirect(url_for("vendor.application", slug=application.slug), code=303)


@bp.post("/apps/<slug>/screenshots")
@login_required
@body_limit(IMAGE_BODY_LIMIT)
def add_screenshot(slug: str) -> ResponseReturnValue:
    application = _my_application(slug)
    form = ScreenshotForm()
    if not form.validate_on_submit():
        return _render_application(application, screenshot_form=form, status=422)
    try:
        image = files.store_image(form.screenshot.data.stream, "screenshot")
        applications.add_screenshot(
            application, image, caption=form.caption.data or "", by=require_user()
        )
    except Invalid as error:
        return _render_application(application, screenshot_form=form, status=_refused(form, error))
    flash(_("The screenshot is added."), "success")
    return redirect(url_for("vendor.application", slug=application.slug), code=303)


@bp.post("/apps/<slug>/screenshots/<int:screenshot_id>/remove")
@login_required
def remove_screenshot(slug: str, screenshot_id: int) -> ResponseReturnValue:
    application = applications.get_by_slug(slug)
    applications.remove_screenshot(application, screenshot_id, by=require_user())
    flash(_("The screenshot is removed."), "success")
    return redirect(url_for("vendor.application", slug=application.slug), code=303)


# --- releases ------------------------------------------------------------------


@bp.route("/apps/<slug>/releases/new", methods=["GET", "POST"])
@login_required
def new_release(slug: str) -> ResponseReturnValue:
    """A new draft. It starts empty: nothing is copied from earlier releases."""
    application = _my_application(slug)
    form = NewReleaseForm()
    status = 200
    if form.validate_on_submit():
        try:
            release = releases.create_draft(application, form.release_input(), by=require_user())
        except (Invalid, Conflict) as error:
            status = _refused(form, error)
        else:
            flash(_("Draft %(version)s is created.", version=release.version), "success")
            return redirect(
                url_for("vendor.release", slug=application.slug, version=release.version),
                code=303,
            )
    elif form.is_submitted():
        status = 422
    latest = next(iter(releases.for_application(application)), None)
    return (
        render_template(
            "catalog/vendor/release_new.html", application=application, form=form, latest=latest
        ),
        status,
    )


@dataclass(frozen=True)
class CriterionEvidence:
    """One criterion on the release page: what satisfies it, what is uploaded, the form."""

    criterion: Criterion
    title: str
    evidence_text: str
    documents: list[Evidence]
    form: EvidenceForm


def _evidence_form(criterion: Criterion, *, submitted: bool = False) -> EvidenceForm:
    # One form per criterion on the page: the prefix keeps their ids apart,
    # and the code keeps them the same on every installation.
    prefix = f"evidence-{criterion.code}"
    return EvidenceForm(prefix=prefix) if submitted else EvidenceForm(formdata=None, prefix=prefix)


def _render_release(
    release: Release,
    *,
    form: DraftForm | None = None,
    evidence_form: tuple[Criterion, EvidenceForm] | None = None,
    refused: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    draft = release.state == ReleaseState.DRAFT
    if draft and form is None:
        form = DraftForm(formdata=None)
        form.fill_from(release)
    history = releases.history(release)
    # The decision that put the release in its state, when it came with a reason.
    decision = next(
        (
            event
            for event in reversed(history)
            if event.to_state == release.state and release.state in _DECIDED_WITH_REASON
        ),
        None,
    )
    sections = [
        CriterionEvidence(
            criterion=criterion,
            title=criteria.title(criterion),
            evidence_text=localized(criterion, "evidence"),
            documents=[e for e in release.evidence if e.criterion_id == criterion.id],
            form=(
                evidence_form[1]
                if evidence_form and evidence_form[0].id == criterion.id
                else _evidence_form(criterion)
            ),
        )
        for criterion in criteria.active()
    ]
    return (
        render_template(
            "catalog/vendor/release.html",
            application=release.application,
            release=release,
            draft=draft,
            form=form,
            missing=releases.missing(release) if draft else [],
            sections=sections,
            history=history,
            decision=decision,
            notices=[e for e in history if e.to_state is None],
            confirm_form=ConfirmForm(formdata=None),
            refused=refused,
        ),
        status,
    )


@bp.route("/apps/<slug>/releases/<version>", methods=["GET", "POST"])
@login_required
def release(slug: str, version: str) -> ResponseReturnValue:
    """A draft's form and checklist, or a submitted release as it was submitted."""
    release = _my_release(slug, version)
    if request.method == "GET":
        return _render_release(release)
    # A submitted release never changes: say so before reading the form.
    releases.require_draft(release)
    form = DraftForm()
    if not form.validate_on_submit():
        return _render_release(release, form=form, status=422)
    try:
        releases.update_draft(
            release,
            form.release_input(release),
            by=require_user(),
            expected_version=form.version_id.data,
        )
    except (Invalid, PreconditionFailed) as error:
        return _render_release(release, form=form, status=_refused(form, error))
    flash(_("The draft is saved."), "success")
    return redirect(url_for("vendor.release", slug=slug, version=release.version), code=303)


@bp.post("/apps/<slug>/releases/<version>/submit")
@login_required
def submit_release(slug: str, version: str) -> ResponseReturnValue:
    release = _my_release(slug, version)
    try:
        releases.submit(release, by=require_user())
    except Invalid as error:
        g.torget_rollback = True
        return _render_release(release, refused=error.detail, status=422)
    flash(
        _(
            "Release %(version)s is submitted for certification. Its sandbox client works now.",
            version=release.version,
        ),
        "success",
    )
    return redirect(url_for("vendor.release", slug=slug, version=release.version), code=303)


@bp.post("/apps/<slug>/releases/<version>/criteria/<code>/evidence")
@login_required
@body_limit(DOCUMENT_BODY_LIMIT)
def upload_evidence(slug: str, version: str, code: str) -> ResponseReturnValue:
    release = _my_release(slug, version)
    criterion = criteria.get_by_code(code)
    form = _evidence_form(criterion, submitted=True)
    if not form.validate_on_submit():
        return _render_release(release, evidence_form=(criterion, form), status=422)
    upload = form.file.data
    try:
        document = files.store_document(upload.stream, upload.filename or "")
        releases.add_evidence(
            release,
            criterion,
            document,
            filename=document.filename or "",
            issued_on=form.issued_on.data,
            expires_on=form.expires_on.data,
            by=require_user(),
        )
    except Invalid as error:
        status = _refused(form, error)
        return _render_release(release, evidence_form=(criterion, form), status=status)
    flash(_("The document is added to %(code)s.", code=criterion.code), "success")
    return redirect(url_for("vendor.release", slug=slug, version=release.version), code=303)


@bp.get("/apps/<slug>/releases/<version>/evidence/<int:evidence_id>")
@login_required
def evidence(slug: str, version: str, evidence_id: int) -> ResponseReturnValue:
    """A download, never shown in the page: evidence is whatever the vendor uploaded."""
    document = releases.get_evidence(_my_release(slug, version), evidence_id)
    return files.send_stored(
        document.sha256, document.content_type, download_name=document.filename
    )


@bp.post("/apps/<slug>/releases/<version>/evidence/<int:evidence_id>/remove")
@login_required
def remove_evidence(slug: str, version: str, evidence_id: int) -> ResponseReturnValue:
    release = _my_release(slug, version)
    releases.remove_evidence(release, evidence_id, by=require_user())
    flash(_("The document is removed."), "success")
    return redirect(url_for("vendor.release", slug=slug, version=release.version), code=303)


# --- credentials -----------------------------------------------------------------


@dataclass(frozen=True)
class ClientOverview:
    client: Client
    release: Release | None  # the release it runs now, if any
    rotate_form: RotateForm


def _render_credentials(
    application: Application,
    *,
    issued: credentials.IssuedSecret | None = None,
    rotate_form: tuple[str, RotateForm] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    clients = [
        ClientOverview(
            client=client,
            release=credentials.current_release(client),
            rotate_form=(
                rotate_form[1]
                if rotate_form and rotate_form[0] == client.client_id
                else RotateForm(formdata=None, prefix=client.client_id)
            ),
        )
        for client in credentials.clients_of(application)
    ]
    return (
        render_template(
            "catalog/vendor/credentials.html",
            application=application,
            clients=clients,
            issued=issued,
            confirm_form=ConfirmForm(formdata=None),
        ),
        status,
    )


def _client(application: Application, client_id: str) -> Client:
    client = next(
        (c for c in credentials.clients_of(application) if c.client_id == client_id), None
    )
    if client is None:
        raise NotFound(_("%(app)s has no client %(id)s.", app=application.name, id=client_id))
    return client


@bp.get("/apps/<slug>/credentials")
@login_required
def credentials_page(slug: str) -> ResponseReturnValue:
    return _render_credentials(_my_application(slug))


@bp.post("/apps/<slug>/credentials/<client_id>/secrets")
@login_required
def create_secret(slug: str, client_id: str) -> ResponseReturnValue:
    """A new secret, shown on this response only: it is stored as a hash."""
    application = _my_application(slug)
    issued = credentials.create_secret(_client(application, client_id), by=require_user())
    return _render_credentials(application, issued=issued, status=201)


@bp.post("/apps/<slug>/credentials/<client_id>/rotate")
@login_required
def rotate_secret(slug: str, client_id: str) -> ResponseReturnValue:
    application = _my_application(slug)
    client = _client(application, client_id)
    form = RotateForm(prefix=client.client_id)
    if not form.validate_on_submit():
        return _render_credentials(application, rotate_form=(client_id, form), status=422)
    try:
        issued = credentials.rotate_secret(
            client, by=require_user(), grace_days=form.grace_days.data
        )
    except Invalid as error:
        status = _refused(form, error)
        return _render_credentials(application, rotate_form=(client_id, form), status=status)
    return _render_credentials(application, issued=issued, status=201)


@bp.post("/apps/<slug>/credentials/<client_id>/secrets/<int:secret_id>/revoke")
@login_required
def revoke_secret(slug: str, client_id: str, secret_id: int) -> ResponseReturnValue:
    application = applications.get_by_slug(slug)
    secret = credentials.revoke_secret(
        _client(application, client_id), secret_id, by=require_user()
    )
    flash(_("The secret %(prefix)s… is revoked.", prefix=secret.prefix), "success")
    return redirect(url_for("vendor.credentials_page", slug=application.slug), code=303)
