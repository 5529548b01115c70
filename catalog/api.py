"""The catalog JSON API (/api/v1/...): every action of the portal and the console.

Each view parses its input (catalog.schemas), calls a service, and returns
what the service returned; the services hold every rule (membership, reviewer
independence, the release life cycle). Errors are raised, never built here:
torget.errors answers them as application/problem+json.

Applications, releases and criteria are changed conditionally: GET answers
with an ETag (the row's version), and PATCH needs it back in If-Match, so two
people editing the same draft get a 412 instead of a lost update.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from http import HTTPStatus
from typing import Any, TypeVar

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint, Page
from marshmallow import Schema
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict

from accounts.access import login_required, require_user, requires
from accounts.models import Role
from catalog import (
    applications,
    credentials,
    criteria,
    files,
    releases,
    reviews,
    schemas,
    vendors,
)
from catalog.models import (
    Application,
    Client,
    Criterion,
    CriterionCheck,
    Evidence,
    Release,
    ReleaseEvent,
    Screenshot,
    Vendor,
    VendorInvitation,
)
from catalog.schemas import (
    ApplicationCreateSchema,
    ApplicationSchema,
    CertifySchema,
    CheckInputSchema,
    CheckSchema,
    ClientSchema,
    CriteriaFilterSchema,
    CriterionCreateSchema,
    CriterionFieldsSchema,
    CriterionSchema,
    EvidenceSchema,
    EvidenceUploadSchema,
    HistoryEventSchema,
    InvitationAcceptSchema,
    InvitationCreateSchema,
    InvitationSchema,
    IssuedInvitationSchema,
    IssuedSecretSchema,
    ListingSchema,
    LogoUploadSchema,
    MissingSchema,
    QueueItemSchema,
    ReasonSchema,
    ReleaseCreateSchema,
    ReleaseSchema,
    ReleaseUpdateSchema,
    ReviewSchema,
    RotateSchema,
    ScopeDiffSchema,
    ScreenshotSchema,
    ScreenshotUploadSchema,
    VendorFilterSchema,
    VendorProfileSchema,
    VendorSchema,
    VendorSignUpSchema,
)
from torget.api import ETAG, IfMatchSchema, accepts, etag, expected_version
from torget.limits import body_limit

F = TypeVar("F", bound=Callable[..., Any])

MULTIPART = "multipart/form-data"
# Room for the multipart framing and the form fields beside the file.
_MULTIPART_OVERHEAD = 64 * 1024
# Ids in paths stop at PostgreSQL's integer: a larger number is a 404, not a database error.
ID = "int(max=2147483647)"


class MultipartParser(FlaskParser):
    """Reads an upload's form fields and files together (smorest's `files` location).

    An upload is one multipart/form-data body: the file and the fields about it
    (a caption, a criterion and dates) are parsed and documented as one schema.
    """

    def load_files(self, req: Any, schema: Schema) -> Any:
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


class CatalogBlueprint(Blueprint):
    ARGUMENTS_PARSER = MultipartParser()

    def _document_pagination_metadata(self, spec: Any, resp_doc: dict[str, Any]) -> None:
        # The header holds JSON; OpenAPI 3.0's header styles cannot describe a JSON
        # value, so it is documented as the string it is (smorest says "object").
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = {
            "description": "The page as JSON: total, total_pages, first_page, last_page, "
            "page, previous_page, next_page. Ask for pages with page and page_size (at most "
            "100).",
            "schema": {"type": "string"},
        }


def _blueprint(name: str, description: str) -> CatalogBlueprint:
    return CatalogBlueprint(name, __name__, url_prefix="/api/v1", description=description)


vendors_blp = _blueprint("vendors-api", "Vendors: sign-up, profile, invitations, verification.")
applications_blp = _blueprint("applications-api", "Applications: listing, logo, screenshots.")
releases_blp = _blueprint("releases-api", "Releases: drafts, evidence, submission, history.")
credentials_blp = _blueprint("credentials-api", "OAuth client credentials of certified apps.")
review_blp = _blueprint("review-api", "Certification: the queue, the checklist, decisions.")
criteria_blp = _blueprint("criteria-api", "Certification criteria: the minimum requirements.")

BLUEPRINTS: list[Blueprint] = [
    vendors_blp,
    applications_blp,
    releases_blp,
    credentials_blp,
    review_blp,
    criteria_blp,
]


# --- documentation helpers -----------------------------------------------------


def errors(*statuses: int) -> Callable[[F], F]:
    """Document the error answers an endpoint gives (all are application/problem+json)."""

    def decorate(view: F) -> F:
        # alt_response only annotates the view: any of our blueprints can lend it.
        for status in statuses:
            view = vendors_blp.alt_response(status, response=HTTPStatus(status).name)(view)
        return view

    return decorate


def _upload(max_bytes: int) -> Callable[[F], F]:
    """An upload endpoint: multipart/form-data only, up to `max_bytes` of file."""

    def decorate(view: F) -> F:
        return body_limit(max_bytes + _MULTIPART_OVERHEAD)(accepts(MULTIPART)(view))

    return decorate


# --- finding what a request names ------------------------------------------------


def _readable_vendor(slug: str) -> Vendor:
    vendor = vendors.get_by_slug(slug)
    vendors.require_reader(require_user(), vendor)
    return vendor


def _readable_application(slug: str) -> Application:
    application = applications.get_by_slug(slug)
    vendors.require_reader(require_user(), application.vendor)
    return application


def _readable_release(release_id: int) -> Release:
    """Any release of the user's vendors; for reviewers and operators, any but a draft."""
    user = require_user()
    release = releases.get(release_id)
    if vendors.is_member(user, release.application.vendor):
        return release
    release = reviews.get(release_id)  # a draft is the vendor's work in progress: 404
    vendors.require_reader(user, release.application.vendor)
    return release


def _member_application(slug: str) -> Application:
    """An app whose credentials only its vendor's members see."""
    application = applications.get_by_slug(slug)
    vendors.require_member(require_user(), application.vendor)
    return application


# --- vendors ---------------------------------------------------------------------


@vendors_blp.route("/vendors")
class Vendors(MethodView):
    @login_required
    @vendors_blp.response(200, VendorSchema(many=True))
    @vendors_blp.paginate(Page)
    def get(self) -> list[Vendor]:
        """The vendors you are a member of."""
        return vendors.vendors_of(require_user())

    @login_required
    @errors(409)
    @vendors_blp.arguments(VendorSignUpSchema)
    @vendors_blp.response(201, VendorSchema)
    def post(self, data: dict[str, Any]) -> Vendor:
        """Sign up a vendor; you become its first member.

        The organisation number is checked (nine digits, mod-11 check digit)
        and can be registered once.
        """
        return vendors.sign_up(require_user(), **data)


@vendors_blp.route("/vendors/<slug>")
class VendorItem(MethodView):
    @login_required
    @errors(403, 404)
    @vendors_blp.response(200, VendorSchema)
    def get(self, slug: str) -> Vendor:
        """One vendor: its members, reviewers and operators see it."""
        return _readable_vendor(slug)

    @login_required
    @errors(403, 404)
    @vendors_blp.arguments(VendorProfileSchema(partial=True))
    @vendors_blp.response(200, VendorSchema)
    def patch(self, data: dict[str, str], slug: str) -> Vendor:
        """Change the contact details. The name and organisation number are fixed."""
        vendor = vendors.get_by_slug(slug)
        vendors.require_member(require_user(), vendor)  # update_profile trusts its caller
        return vendors.update_profile(vendor, replace(schemas.profile_of(vendor), **data))


@vendors_blp.route("/vendors/<slug>/verify")
class VendorVerification(MethodView):
    @requires(Role.OPERATOR)
    @errors(403, 404, 409)
    @vendors_blp.response(200, VendorSchema)
    def post(self, slug: str) -> Vendor:
        """Mark the vendor verified (operators only): the catalog shows the mark."""
        return vendors.verify(vendors.get_by_slug(slug), by=require_user())


@vendors_blp.route("/vendors/<slug>/invitations")
class Invitations(MethodView):
    @login_required
    @errors(403, 404)
    @vendors_blp.response(200, InvitationSchema(many=True))
    @vendors_blp.paginate(Page)
    def get(self, slug: str) -> list[VendorInvitation]:
        """Invitations not yet accepted, revoked or expired (members only)."""
        vendor = vendors.get_by_slug(slug)
        vendors.require_member(require_user(), vendor)
        return vendors.open_invitations(vendor)

    @login_required
    @errors(403, 404, 409)
    @vendors_blp.arguments(InvitationCreateSchema)
    @vendors_blp.response(201, IssuedInvitationSchema)
    def post(self, data: dict[str, str], slug: str) -> vendors.IssuedInvitation:
        """Invite someone to become a member. The token is in this response only.

        The invitation works once, for seven days, for the address it names.
        """
        return vendors.invite(vendors.get_by_slug(slug), data["email"], by=require_user())


@vendors_blp.route(f"/vendors/<slug>/invitations/<{ID}:invitation_id>")
class InvitationItem(MethodView):
    @login_required
    @errors(403, 404)
    @vendors_blp.response(204)
    def delete(self, slug: str, invitation_id: int) -> None:
        """Revoke an invitation; its token stops working at once."""
        vendors.revoke_invitation(vendors.get_by_slug(slug), invitation_id, by=require_user())


@vendors_blp.route("/invitations/accept")
class InvitationAcceptance(MethodView):
    @login_required
    @errors(403, 404)
    @vendors_blp.arguments(InvitationAcceptSchema)
    @vendors_blp.response(200, VendorSchema)
    def post(self, data: dict[str, str]) -> Vendor:
        """Accept an invitation: you become a member of its vendor.

        Sign in with the address the invitation was sent to.
        """
        return vendors.accept_invitation(data["token"], require_user())


# --- applications ----------------------------------------------------------------


@applications_blp.route("/vendors/<slug>/applications")
class VendorApplications(MethodView):
    @login_required
    @errors(403, 404)
    @applications_blp.response(200, ApplicationSchema(many=True))
    @applications_blp.paginate(Page)
    def get(self, slug: str) -> list[Application]:
        """The vendor's apps, by name."""
        return applications.for_vendor(_readable_vendor(slug))

    @login_required
    @errors(403, 404, 409)
    @applications_blp.arguments(ApplicationCreateSchema)
    @applications_blp.response(201, ApplicationSchema, headers=ETAG)
    def post(self, data: dict[str, Any], slug: str) -> tuple[Application, dict[str, str]]:
        """Register an app under the vendor (members only).

        The slug is its address, unique regardless of case.
        """
        application = applications.create(vendors.get_by_slug(slug), **data, by=require_user())
        return application, etag(application)


@applications_blp.route("/applications/<slug>")
class ApplicationItem(MethodView):
    @login_required
    @errors(403, 404)
    @applications_blp.response(200, ApplicationSchema, headers=ETAG)
    def get(self, slug: str) -> tuple[Application, dict[str, str]]:
        """One app, with an ETag to change it with."""
        application = _readable_application(slug)
        return application, etag(application)

    @login_required
    @errors(403, 404, 409, 412, 428)
    @applications_blp.arguments(ListingSchema(partial=True))
    @applications_blp.arguments(IfMatchSchema, location="headers")
    @applications_blp.response(200, ApplicationSchema, headers=ETAG)
    def patch(
        self, data: dict[str, Any], headers: dict[str, Any], slug: str
    ) -> tuple[Application, dict[str, str]]:
        """Change the listing (members only); needs If-Match.

        Fields left out stay as they are. The audience is fixed once a release
        has been submitted.
        """
        application = applications.get_by_slug(slug)
        application = applications.update(
            application,
            replace(schemas.listing_of(application), **data),
            by=require_user(),
            expected_version=expected_version(headers, application.version_id),
        )
        return application, etag(application)


@applications_blp.route("/applications/<slug>/logo")
class ApplicationLogo(MethodView):
    @login_required
    @_upload(files.IMAGE_LIMITS["logo"])
    @errors(403, 404, 413, 415)
    @applications_blp.arguments(LogoUploadSchema, location="files")
    @applications_blp.response(200, ApplicationSchema)
    def put(self, data: dict[str, Any], slug: str) -> Application:
        """Upload the app's logo (multipart/form-data: file).

        PNG, JPEG or WebP, at most 1 MB and 4096 x 4096 pixels; stored
        re-encoded, without metadata.
        """
        application = _member_application(slug)  # refuse before anything is stored
        image = files.store_image(data["file"].stream, "logo")
        return applications.set_logo(application, image, by=require_user())


@applications_blp.route("/applications/<slug>/screenshots")
class Screenshots(MethodView):
    @login_required
    @_upload(files.IMAGE_LIMITS["screenshot"])
    @errors(403, 404, 413, 415)
    @applications_blp.arguments(ScreenshotUploadSchema, location="files")
    @applications_blp.response(201, ScreenshotSchema)
    def post(self, data: dict[str, Any], slug: str) -> Screenshot:
        """Add a screenshot (multipart/form-data: file, caption). At most eight per app.

        PNG, JPEG or WebP, at most 5 MB and 4096 x 4096 pixels.
        """
        application = _member_application(slug)  # refuse before anything is stored
        image = files.store_image(data["file"].stream, "screenshot")
        return applications.add_screenshot(
            application, image, caption=data["caption"], by=require_user()
        )


@applications_blp.route(f"/applications/<slug>/screenshots/<{ID}:screenshot_id>")
class ScreenshotItem(MethodView):
    @login_required
    @errors(403, 404)
    @applications_blp.response(204)
    def delete(self, slug: str, screenshot_id: int) -> None:
        """Remove a screenshot."""
        applications.remove_screenshot(
            applications.get_by_slug(slug), screenshot_id, by=require_user()
        )


# --- releases --------------------------------------------------------------------


@releases_blp.route("/applications/<slug>/releases")
class ApplicationReleases(MethodView):
    @login_required
    @errors(403, 404)
    @releases_blp.response(200, ReleaseSchema(many=True))
    @releases_blp.paginate(Page)
    def get(self, slug: str) -> list[Release]:
        """The app's releases, newest version first."""
        return releases.for_application(_readable_application(slug))

    @login_required
    @errors(403, 404, 409)
    @releases_blp.arguments(ReleaseCreateSchema)
    @releases_blp.response(201, ReleaseSchema, headers=ETAG)
    def post(self, data: releases.ReleaseInput, slug: str) -> tuple[Release, dict[str, str]]:
        """Start a draft release (members only): a version and a client type to begin."""
        release = releases.create_draft(applications.get_by_slug(slug), data, by=require_user())
        return release, etag(release)


@releases_blp.route(f"/releases/<{ID}:release_id>")
class ReleaseItem(MethodView):
    @login_required
    @errors(403, 404)
    @releases_blp.response(200, ReleaseSchema, headers=ETAG)
    def get(self, release_id: int) -> tuple[Release, dict[str, str]]:
        """One release: its launch fields, evidence, review findings and state."""
        release = _readable_release(release_id)
        return release, etag(release)

    @login_required
    @errors(403, 404, 409, 412, 428)
    @releases_blp.arguments(ReleaseUpdateSchema)
    @releases_blp.arguments(IfMatchSchema, location="headers")
    @releases_blp.response(200, ReleaseSchema, headers=ETAG)
    def patch(
        self, data: releases.ReleaseInput, headers: dict[str, Any], release_id: int
    ) -> tuple[Release, dict[str, str]]:
        """Change a draft (members only); needs If-Match.

        Fields left out stay as they are; null empties one. A submitted
        release never changes (409): a change is a new release.
        """
        release = releases.get(release_id)
        release = releases.update_draft(
            release,
            data,
            by=require_user(),
            expected_version=expected_version(headers, release.version_id),
        )
        return release, etag(release)


@releases_blp.route(f"/releases/<{ID}:release_id>/missing")
class ReleaseMissing(MethodView):
    @login_required
    @errors(403, 404)
    @releases_blp.response(200, MissingSchema)
    def get(self, release_id: int) -> dict[str, Any]:
        """What the draft still lacks before it can be submitted."""
        gaps = releases.missing(_readable_release(release_id))
        return {"complete": not gaps, "missing": gaps}


@releases_blp.route(f"/releases/<{ID}:release_id>/diff")
class ReleaseDiff(MethodView):
    @login_required
    @errors(403, 404)
    @releases_blp.response(200, ScopeDiffSchema)
    def get(self, release_id: int) -> dict[str, Any]:
        """What the release asks for beyond the app's previous certified release."""
        release = _readable_release(release_id)
        previous = releases.previous_certified(release)
        diff = releases.diff(previous, release)
        return {
            "previous": previous.version if previous else None,
            "added": diff.added,
            "removed": diff.removed,
            "kept": diff.kept,
            "launch_modes_added": diff.launch_modes_added,
            "launch_modes_removed": diff.launch_modes_removed,
            "widens": diff.widens,
        }


@releases_blp.route(f"/releases/<{ID}:release_id>/submit")
class ReleaseSubmission(MethodView):
    @login_required
    @errors(403, 404, 409, 502)
    @releases_blp.response(200, ReleaseSchema)
    def post(self, release_id: int) -> Release:
        """Submit a complete draft for certification (members only).

        An incomplete draft is a 422 listing what is missing; a release is
        submitted once (409). From now on the sandbox client works.
        """
        return releases.submit(releases.get(release_id), by=require_user())


@releases_blp.route(f"/releases/<{ID}:release_id>/history")
class ReleaseHistory(MethodView):
    @login_required
    @errors(403, 404)
    @releases_blp.response(200, HistoryEventSchema(many=True))
    @releases_blp.paginate(Page)
    def get(self, release_id: int) -> list[ReleaseEvent]:
        """Who did what to the release, when and why, oldest first."""
        return releases.history(_readable_release(release_id))


@releases_blp.route(f"/releases/<{ID}:release_id>/evidence")
class ReleaseEvidence(MethodView):
    @login_required
    @_upload(files.DOCUMENT_LIMIT)
    @errors(403, 404, 409, 413, 415)
    @releases_blp.arguments(EvidenceUploadSchema, location="files")
    @releases_blp.response(201, EvidenceSchema)
    def post(self, data: dict[str, Any], release_id: int) -> Evidence:
        """Upload evidence for a criterion (multipart/form-data).

        Fields: file (PDF, PNG or JPEG, at most 20 MB), criterion (its code),
        issued_on and, for documents that expire, expires_on. Drafts only.
        """
        release = releases.get(release_id)
        # Refuse before anything is stored: a stranger's upload never reaches the disk.
        vendors.require_member(require_user(), release.application.vendor)
        releases.require_draft(release)
        upload = data["file"]
        document = files.store_document(upload.stream, upload.filename or "")
        return releases.add_evidence(
            release,
            data["criterion"],
            document,
            filename=document.filename or "",
            issued_on=data["issued_on"],
            expires_on=data["expires_on"],
            by=require_user(),
        )


@releases_blp.route(f"/releases/<{ID}:release_id>/evidence/<{ID}:evidence_id>")
class EvidenceItem(MethodView):
    @login_required
    @errors(403, 404, 409)
    @releases_blp.response(204)
    def delete(self, release_id: int, evidence_id: int) -> None:
        """Remove evidence from a draft."""
        releases.remove_evidence(releases.get(release_id), evidence_id, by=require_user())


BINARY = {"type": "string", "format": "binary"}


@releases_blp.route(f"/releases/<{ID}:release_id>/evidence/<{ID}:evidence_id>/file")
class EvidenceFile(MethodView):
    @login_required
    @errors(403, 404)
    @releases_blp.response(
        200, BINARY, content_type="application/pdf", description="The document, as a download."
    )
    @releases_blp.alt_response(200, schema=BINARY, content_type="image/png", success=True)
    @releases_blp.alt_response(200, schema=BINARY, content_type="image/jpeg", success=True)
    def get(self, release_id: int, evidence_id: int) -> Response:
        """Download an evidence document (the vendor's members and reviewers)."""
        evidence = releases.get_evidence(_readable_release(release_id), evidence_id)
        return files.send_stored(
            evidence.sha256, evidence.content_type, download_name=evidence.filename
        )


# --- credentials -------------------------------------------------------------------


@credentials_blp.route("/applications/<slug>/clients")
class ApplicationClients(MethodView):
    @login_required
    @errors(403, 404)
    @credentials_blp.response(200, ClientSchema(many=True))
    @credentials_blp.paginate(Page)
    def get(self, slug: str) -> list[Client]:
        """The app's OAuth clients (sandbox, production) and their secrets (members only).

        A secret is shown by its prefix and dates; its value only when created.
        """
        return credentials.clients_of(_member_application(slug))


@credentials_blp.route("/clients/<client_id>/secrets")
class ClientSecrets(MethodView):
    @login_required
    @errors(403, 404, 409)
    @credentials_blp.response(201, IssuedSecretSchema)
    def post(self, client_id: str) -> credentials.IssuedSecret:
        """Add a secret beside the live ones. Its value is in this response only.

        Only a confidential client with a secret has secrets (409 otherwise).
        """
        return credentials.create_secret(credentials.get_client(client_id), by=require_user())


@credentials_blp.route("/clients/<client_id>/secrets/rotate")
class ClientSecretRotation(MethodView):
    @login_required
    @errors(403, 404, 409)
    @credentials_blp.arguments(RotateSchema)
    @credentials_blp.response(201, IssuedSecretSchema)
    def post(self, data: dict[str, int], client_id: str) -> credentials.IssuedSecret:
        """Rotate: a new secret; the live ones keep working for grace_days, then stop."""
        return credentials.rotate_secret(
            credentials.get_client(client_id), by=require_user(), grace_days=data["grace_days"]
        )


@credentials_blp.route(f"/clients/<client_id>/secrets/<{ID}:secret_id>")
class ClientSecretItem(MethodView):
    @login_required
    @errors(403, 404)
    @credentials_blp.response(204)
    def delete(self, client_id: str, secret_id: int) -> None:
        """Revoke a secret: it stops working at once."""
        credentials.revoke_secret(credentials.get_client(client_id), secret_id, by=require_user())


# --- review ------------------------------------------------------------------------


@review_blp.route("/review/queue")
class ReviewQueue(MethodView):
    @requires(Role.REVIEWER)
    @errors(403)
    @review_blp.response(200, QueueItemSchema(many=True))
    @review_blp.paginate(Page)
    def get(self) -> list[reviews.QueueItem]:
        """Releases waiting for a decision, the longest waiting first (reviewers)."""
        return reviews.queue()


@review_blp.route("/review/vendors")
class ReviewVendors(MethodView):
    @requires(Role.OPERATOR, Role.REVIEWER)
    @errors(403)
    @review_blp.arguments(VendorFilterSchema, location="query")
    @review_blp.response(200, VendorSchema(many=True))
    @review_blp.paginate(Page)
    def get(self, query: dict[str, bool | None]) -> list[Vendor]:
        """Every vendor, for operators (who verify them) and reviewers."""
        return [
            vendor
            for vendor in vendors.list_vendors()
            if query["verified"] is None or vendor.is_verified == query["verified"]
        ]


@review_blp.route(f"/review/releases/<{ID}:release_id>")
class ReviewItem(MethodView):
    @requires(Role.REVIEWER)
    @errors(403, 404)
    @review_blp.response(200, ReviewSchema)
    def get(self, release_id: int) -> dict[str, Any]:
        """A release under review and the criteria that still block certifying it."""
        release = reviews.get(release_id)
        reviews.require_reviewer(require_user(), release)
        return {"release": release, "blocking": [c.code for c in reviews.unresolved(release)]}


@review_blp.route(f"/review/releases/<{ID}:release_id>/start")
class ReviewStart(MethodView):
    @requires(Role.REVIEWER)
    @errors(403, 404, 409)
    @review_blp.response(200, ReleaseSchema)
    def post(self, release_id: int) -> Release:
        """Take a submitted release into review.

        Nobody reviews a release of a vendor they are a member of (403).
        """
        return reviews.start(reviews.get(release_id), by=require_user())


@review_blp.route(f"/review/releases/<{ID}:release_id>/checks/<code>")
class ReviewCheck(MethodView):
    @requires(Role.REVIEWER)
    @errors(403, 404, 409)
    @review_blp.arguments(CheckInputSchema)
    @review_blp.response(200, CheckSchema)
    def put(self, data: dict[str, Any], release_id: int, code: str) -> CriterionCheck:
        """Record a criterion's outcome (passed, failed, not applicable) with a comment.

        A failed criterion needs a comment: the vendor reads it.
        """
        return reviews.record_check(
            reviews.get(release_id),
            criteria.get_by_code(code),
            data["outcome"],
            data["comment"],
            by=require_user(),
        )


@review_blp.route(f"/review/releases/<{ID}:release_id>/certify")
class ReviewCertify(MethodView):
    @requires(Role.REVIEWER)
    @errors(403, 404, 409)
    @review_blp.arguments(CertifySchema)
    @review_blp.response(200, ReleaseSchema)
    def post(self, data: dict[str, str], release_id: int) -> Release:
        """Certify: every mandatory criterion passed and none failed.

        The app gets its production client; an older certified release is superseded.
        """
        return reviews.certify(reviews.get(release_id), by=require_user(), **data)


@review_blp.route(f"/review/releases/<{ID}:release_id>/reject")
class ReviewReject(MethodView):
    @requires(Role.REVIEWER)
    @errors(403, 404, 409)
    @review_blp.arguments(ReasonSchema)
    @review_blp.response(200, ReleaseSchema)
    def post(self, data: dict[str, str], release_id: int) -> Release:
        """Reject a release in review, with the reason.

        Final for this release: the vendor makes a new one.
        """
        return reviews.reject(reviews.get(release_id), by=require_user(), reason=data["reason"])


@review_blp.route(f"/review/releases/<{ID}:release_id>/suspend")
class ReviewSuspend(MethodView):
    @requires(Role.REVIEWER)
    @errors(403, 404, 409)
    @review_blp.arguments(ReasonSchema)
    @review_blp.response(200, ReleaseSchema)
    def post(self, data: dict[str, str], release_id: int) -> Release:
        """Suspend a certified or superseded release, with the reason.

        New launches stop at once; it can be reinstated or revoked.
        """
        return reviews.suspend(reviews.get(release_id), by=require_user(), reason=data["reason"])


@review_blp.route(f"/review/releases/<{ID}:release_id>/reinstate")
class ReviewReinstate(MethodView):
    @requires(Role.REVIEWER)
    @errors(403, 404, 409)
    @review_blp.arguments(ReasonSchema)
    @review_blp.response(200, ReleaseSchema)
    def post(self, data: dict[str, str], release_id: int) -> Release:
        """Reinstate a suspended release, with the reason.

        It is certified again, or superseded if a newer one was certified meanwhile.
        """
        return reviews.reinstate(reviews.get(release_id), by=require_user(), reason=data["reason"])


@review_blp.route(f"/review/releases/<{ID}:release_id>/revoke")
class ReviewRevoke(MethodView):
    @requires(Role.REVIEWER)
    @errors(403, 404, 409)
    @review_blp.arguments(ReasonSchema)
    @review_blp.response(200, ReleaseSchema)
    def post(self, data: dict[str, str], release_id: int) -> Release:
        """Revoke a certified, superseded or suspended release, with the reason.

        Final: it never launches again.
        """
        return reviews.revoke(reviews.get(release_id), by=require_user(), reason=data["reason"])


# --- criteria ----------------------------------------------------------------------


@criteria_blp.route("/criteria")
class Criteria(MethodView):
    @login_required
    @criteria_blp.arguments(CriteriaFilterSchema, location="query")
    @criteria_blp.response(200, CriterionSchema(many=True))
    @criteria_blp.paginate(Page)
    def get(self, query: dict[str, bool]) -> list[Criterion]:
        """The criteria releases are certified against, in their published order."""
        return criteria.all_criteria() if query["retired"] else criteria.active()

    @requires(Role.REVIEWER)
    @errors(403, 409)
    @criteria_blp.arguments(CriterionCreateSchema)
    @criteria_blp.response(201, CriterionSchema, headers=ETAG)
    def post(self, data: criteria.CriterionInput) -> tuple[Criterion, dict[str, str]]:
        """Publish a new criterion (reviewers)."""
        criterion = criteria.create(data, by=require_user())
        return criterion, etag(criterion)


@criteria_blp.route("/criteria/<code>")
class CriterionItem(MethodView):
    @login_required
    @errors(404)
    @criteria_blp.response(200, CriterionSchema, headers=ETAG)
    def get(self, code: str) -> tuple[Criterion, dict[str, str]]:
        """One criterion, with an ETag to change it with."""
        criterion = criteria.get_by_code(code)
        return criterion, etag(criterion)

    @requires(Role.REVIEWER)
    @errors(403, 404, 412, 428)
    @criteria_blp.arguments(CriterionFieldsSchema(partial=True))
    @criteria_blp.arguments(IfMatchSchema, location="headers")
    @criteria_blp.response(200, CriterionSchema, headers=ETAG)
    def patch(
        self, data: dict[str, Any], headers: dict[str, Any], code: str
    ) -> tuple[Criterion, dict[str, str]]:
        """Change a criterion's texts (reviewers); needs If-Match. The code never changes."""
        criterion = criteria.get_by_code(code)
        criterion = criteria.update(
            criterion,
            replace(schemas.criterion_input_of(criterion), **data),
            by=require_user(),
            expected_version=expected_version(headers, criterion.version_id),
        )
        return criterion, etag(criterion)


@criteria_blp.route("/criteria/<code>/retire")
class CriterionRetirement(MethodView):
    @requires(Role.REVIEWER)
    @errors(403, 404, 409)
    @criteria_blp.response(200, CriterionSchema)
    def post(self, code: str) -> Criterion:
        """Retire a criterion: releases are no longer reviewed against it."""
        return criteria.retire(criteria.get_by_code(code), by=require_user())
