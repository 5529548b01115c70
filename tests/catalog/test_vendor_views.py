"""The vendor portal pages: every page for members only, every refusal writes nothing."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from html import unescape

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image

from accounts.models import Membership, Organisation, Role, User
from catalog import applications, credentials, files, releases, reviews, vendors
from catalog.models import (
    Application,
    Audience,
    ClientSecret,
    ClientType,
    Environment,
    Evidence,
    Release,
    ReleaseEvent,
    ReleaseState,
    Screenshot,
    Vendor,
    VendorInvitation,
)
from tests.catalog.test_keys import ec_jwk
from tests.conftest import csrf_token, login
from tests.conftest import sign_in_in_english as _sign_in
from tests.factories.accounts import UserFactory
from tests.factories.catalog import (
    ApplicationFactory,
    EvidenceFactory,
    ReleaseFactory,
    VendorFactory,
    member_of,
    reviewer,
)
from torget.db import db, utcnow

S = ReleaseState
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _png(size: tuple[int, int] = (64, 32)) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, (11, 85, 99)).save(output, "PNG")
    return output.getvalue()


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


@pytest.fixture
def portal(client, seeded):
    """A vendor with an app, a complete draft, a signed-in member and their CSRF token."""
    vendor = VendorFactory()
    member = member_of(vendor)
    application = ApplicationFactory(vendor=vendor, slug="news2-varsel", name="NEWS2 Varsel")
    draft = ReleaseFactory(application=application, version="1.0.0")
    token = _sign_in(client, member)
    return {
        "vendor": vendor,
        "member": member,
        "app": application,
        "draft": draft,
        "token": token,
        "criteria": seeded,
    }


def _with_evidence(release: Release, criteria_list) -> None:
    for criterion in criteria_list:
        if criterion.mandatory:
            EvidenceFactory(release=release, criterion=criterion)


def _submitted(application: Application, member, criteria_list, version: str = "0.9.0") -> Release:
    release = ReleaseFactory(application=application, version=version)
    _with_evidence(release, criteria_list)
    releases.submit(release, by=member)
    db.session.flush()
    return release


def _listing(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Tjenesteoversikt",
        "summary_nb": "Oversikt over kommunale tjenester.",
        "summary_en": "The municipal services a patient receives.",
        "description_nb": "Viser tjenestene pasienten mottar.",
        "description_en": "Shows the services the patient receives.",
        "category": "care_coordination",
        "audience": "clinician",
        "support_url": "https://vendor.example/support",
        "privacy_url": "https://vendor.example/privacy",
        "price_model": "per_inhabitant",
        "price_nok": "2,50",
        "usage_unit": "",
        "basis_share_percent": "",
    }
    data.update(changes)
    return data


def _draft_form(release: Release, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "client_type": release.client_type.value,
        "launch_url": release.launch_url or "",
        "redirect_uris": "\n".join(release.redirect_uris),
        "scopes": "\n".join(release.scope_list),
        "launch_modes": list(release.launch_modes),
        "release_notes": release.release_notes,
        "data_use_statement": release.data_use_statement,
        "version_id": str(release.version_id),
    }
    data.update(changes)
    return data


def _snapshot(release: Release) -> tuple:
    db.session.expire_all()
    row = db.session.get(Release, release.id)
    return (
        row.state,
        row.launch_url,
        list(row.redirect_uris),
        row.scopes,
        row.jwks,
        row.jwks_url,
        list(row.launch_modes),
        row.release_notes,
        row.version_id,
    )


# --- every page, for members and for nobody else ----------------------------------


def _pages(portal, submitted: Release) -> list[str]:
    vendor, app, draft = portal["vendor"], portal["app"], portal["draft"]
    stored = files.store_document(PDF, "dpia.pdf")
    evidence = EvidenceFactory(
        release=draft, criterion=portal["criteria"][0], sha256=stored.sha256, size=stored.size
    )
    return [
        f"/vendor/org/{vendor.slug}/profile",
        f"/vendor/org/{vendor.slug}/members",
        f"/vendor/org/{vendor.slug}/apps/new",
        f"/vendor/apps/{app.slug}",
        f"/vendor/apps/{app.slug}/edit",
        f"/vendor/apps/{app.slug}/releases/new",
        f"/vendor/apps/{app.slug}/releases/{draft.version}",
        f"/vendor/apps/{app.slug}/releases/{submitted.version}",
        f"/vendor/apps/{app.slug}/releases/{draft.version}/evidence/{evidence.id}",
        f"/vendor/apps/{app.slug}/credentials",
    ]


def test_every_page_renders_for_a_member(client, portal):
    submitted = _submitted(portal["app"], portal["member"], portal["criteria"])
    for path in ["/vendor/", "/vendor/signup", *_pages(portal, submitted)]:
        response = client.get(path)
        assert response.status_code == 200, path
    page = _text(client.get("/vendor/"))
    assert portal["vendor"].name in page
    assert "NEWS2 Varsel" in page
    assert "1.0.0" in page
    assert "0.9.0" in page
    assert "Register a new app" in page
    edit = _text(client.get(f"/vendor/apps/{portal['app'].slug}/edit"))
    assert "<h1>Edit the listing of NEWS2 Varsel</h1>" in edit
    new = _text(client.get(f"/vendor/org/{portal['vendor'].slug}/apps/new"))
    assert f"<h1>Register a new app for {portal['vendor'].name}</h1>" in new
    assert '<label for="slug">Slug</label>' in new


def test_a_member_of_another_vendor_gets_403_everywhere(client, portal):
    app, draft, member, vendor = portal["app"], portal["draft"], portal["member"], portal["vendor"]
    submitted = _submitted(app, member, portal["criteria"])
    pages = _pages(portal, submitted)
    evidence = draft.evidence[0]
    code = evidence.criterion.code
    invitation = vendors.invite(vendor, "ny@example.no", by=member).invitation
    shot = applications.add_screenshot(
        app, files.store_image(_png(), "screenshot"), caption="Skjerm", by=member
    )
    sandbox = credentials.find_client(app, Environment.SANDBOX)
    outsider = member_of(VendorFactory())
    token = _sign_in(client, outsider)
    for path in pages:
        assert client.get(path).status_code == 403, path
    before = _snapshot(draft)
    posts = {
        f"/vendor/org/{portal['vendor'].slug}/profile": {
            "contact_email": "evil@example.no",
            "security_email": "evil@example.no",
            "website": "https://evil.example",
        },
        f"/vendor/org/{portal['vendor'].slug}/invitations": {"email": "evil@example.no"},
        f"/vendor/apps/{app.slug}/edit": _listing(version_id="1"),
        f"/vendor/apps/{app.slug}/releases/new": {"version": "9.0.0", "client_type": "public"},
        f"/vendor/apps/{app.slug}/releases/{draft.version}": _draft_form(
            draft, release_notes="Hijacked."
        ),
        f"/vendor/apps/{app.slug}/releases/{draft.version}/submit": {},
        f"/vendor/apps/{app.slug}/releases/{draft.version}/evidence/{evidence.id}/remove": {},
        f"/vendor/apps/{app.slug}/screenshots/{shot.id}/remove": {},
        f"/vendor/org/{vendor.slug}/invitations/{invitation.id}/revoke": {},
        f"/vendor/apps/{app.slug}/credentials/{sandbox.client_id}/secrets": {},
        f"/vendor/apps/{app.slug}/logo": {"logo": (io.BytesIO(_png()), "logo.png")},
        f"/vendor/apps/{app.slug}/releases/{draft.version}/criteria/{code}/evidence": {
            f"evidence-{code}-file": (io.BytesIO(PDF), "x.pdf"),
            f"evidence-{code}-issued_on": "2026-01-01",
        },
    }
    for path, data in posts.items():
        response = client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 403, path
    assert _snapshot(draft) == before
    assert [e.id for e in db.session.get(Release, draft.id).evidence] == [evidence.id]
    assert db.session.get(VendorInvitation, invitation.id).revoked_at is None
    assert _count(VendorInvitation) == 1
    assert _count(Screenshot) == 1
    assert _count(ClientSecret) == 0
    assert _count(Release, Release.application_id == app.id) == 2
    application = db.session.get(Application, app.id)
    assert application.logo_sha256 is None
    assert application.name == "NEWS2 Varsel"
    assert db.session.get(Vendor, vendor.id).contact_email != "evil@example.no"


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(client, portal):
    client.post("/logout", data={"csrf_token": portal["token"]})
    app = portal["app"]
    response = client.get(f"/vendor/apps/{app.slug}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert client.get("/vendor/").status_code == 302
    token = csrf_token(client, "/login")
    response = client.post(
        f"/vendor/apps/{app.slug}/releases/new",
        data={"version": "2.0.0", "client_type": "public", "csrf_token": token},
    )
    assert response.status_code == 401
    assert _count(Release, Release.application_id == app.id) == 1


def test_a_post_without_csrf_token_is_refused_and_writes_nothing(client, portal):
    app = portal["app"]
    for token in (None, "forged"):
        data = {"version": "2.0.0", "client_type": "public"}
        if token:
            data["csrf_token"] = token
        response = client.post(f"/vendor/apps/{app.slug}/releases/new", data=data)
        assert response.status_code == 400
        assert "did not come from this site" in _text(response)
    assert _count(Release, Release.application_id == app.id) == 1


# --- sign-up -------------------------------------------------------------------


def test_a_person_without_vendor_is_offered_sign_up_and_becomes_the_first_member(client):
    user = UserFactory()
    token = _sign_in(client, user)
    page = _text(client.get("/vendor/"))
    assert "You are not a member of any vendor yet." in page
    assert 'href="/vendor/signup"' in page
    response = client.post(
        "/vendor/signup",
        data={
            "name": "Nordlys Helse AS",
            "organisation_number": "974 760 673",
            "contact_email": "post@nordlys.example",
            "security_email": "security@nordlys.example",
            "website": "https://nordlys.example",
            "csrf_token": token,
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/vendor/"
    vendor = vendors.get_by_slug("nordlys-helse-as")
    assert vendor.organisation_number == "974760673"
    assert [m.email for m in vendors.members(vendor)] == [user.email]
    page = _text(client.get("/vendor/"))
    assert "Nordlys Helse AS is registered" in page
    assert 'href="/vendor/org/nordlys-helse-as/apps/new"' in page


def test_sign_up_with_an_invalid_organisation_number_is_422_and_creates_nothing(client):
    user = UserFactory()
    token = _sign_in(client, user)
    vendors_before, organisations_before = _count(Vendor), _count(Organisation)
    response = client.post(
        "/vendor/signup",
        data={
            "name": "Feil Nummer AS",
            "organisation_number": "974760674",
            "contact_email": "not-an-address",
            "security_email": "security@feil.example",
            "website": "https://feil.example",
            "csrf_token": token,
        },
    )
    assert response.status_code == 422
    page = _text(response)
    assert "nine digits with a valid check digit" in page
    assert 'id="organisation_number-error"' in page
    assert 'id="contact_email-error"' in page
    assert 'value="Feil Nummer AS"' in page
    assert (_count(Vendor), _count(Organisation)) == (vendors_before, organisations_before)
    assert _count(Membership, Membership.user_id == user.id) == 0


# --- applications ----------------------------------------------------------------


def test_a_member_registers_an_app_with_a_price_in_kroner(client, portal):
    vendor = portal["vendor"]
    response = client.post(
        f"/vendor/org/{vendor.slug}/apps/new",
        data={**_listing(slug="Tjenesteoversikt"), "csrf_token": portal["token"]},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/vendor/apps/tjenesteoversikt"
    application = db.session.scalar(
        sa.select(Application).where(Application.slug == "tjenesteoversikt")
    )
    assert application.price_ore == 250
    assert application.vendor_id == vendor.id
    page = _text(client.get("/vendor/apps/tjenesteoversikt"))
    assert "Tjenesteoversikt" in page


def test_a_duplicate_slug_differing_in_case_is_422_and_creates_nothing(client, portal):
    vendor = portal["vendor"]
    before = _count(Application)
    response = client.post(
        f"/vendor/org/{vendor.slug}/apps/new",
        data={**_listing(slug="NEWS2-Varsel"), "csrf_token": portal["token"]},
    )
    assert response.status_code == 422
    assert "Another app has the address news2-varsel." in _text(response)
    assert _count(Application) == before


def test_invalid_listing_fields_are_shown_on_their_fields(client, portal):
    vendor = portal["vendor"]
    before = _count(Application)
    response = client.post(
        f"/vendor/org/{vendor.slug}/apps/new",
        data={
            **_listing(
                slug="ny app",
                support_url="ftp://x",
                price_model="per_use",
                price_nok="abc",
                basis_share_percent="many",
            ),
            "csrf_token": portal["token"],
        },
    )
    assert response.status_code == 422
    page = _text(response)
    assert 'id="basis_share_percent-error"' in page
    assert _count(Application) == before
    response = client.post(
        f"/vendor/org/{vendor.slug}/apps/new",
        data={
            **_listing(
                slug="ny app", support_url="ftp://x", price_model="per_use", price_nok="abc"
            ),
            "csrf_token": portal["token"],
        },
    )
    assert response.status_code == 422
    page = _text(response)
    for field in ("slug", "support_url", "price_nok", "usage_unit"):
        assert f'id="{field}-error"' in page, field
    assert _count(Application) == before


def test_a_concurrent_edit_of_an_app_is_refused_not_lost(client, portal):
    app = portal["app"]
    page = _text(client.get(f"/vendor/apps/{app.slug}/edit"))
    loaded_version = re.search(r'name="version_id"[^>]*value="(\d+)"', page).group(1)
    assert 'value="NEWS2 Varsel"' in page
    # Someone else saves first.
    first = client.post(
        f"/vendor/apps/{app.slug}/edit",
        data={
            **_listing(name="NEWS2 Varsel Pro", version_id=loaded_version),
            "csrf_token": portal["token"],
        },
    )
    assert first.status_code == 303
    # The page loaded before that edit is refused.
    second = client.post(
        f"/vendor/apps/{app.slug}/edit",
        data={
            **_listing(name="NEWS2 Varsel Lite", version_id=loaded_version),
            "csrf_token": portal["token"],
        },
    )
    assert second.status_code == 412
    assert "Someone else changed this since you loaded it" in _text(second)
    db.session.expire_all()
    assert db.session.get(Application, app.id).name == "NEWS2 Varsel Pro"


def test_the_edit_page_shows_the_stored_price_with_the_readers_decimal_mark(client, portal):
    app = portal["app"]
    response = client.post(
        f"/vendor/apps/{app.slug}/edit",
        data={
            **_listing(price_model="fixed", price_nok="12 500.5", version_id=app.version_id),
            "csrf_token": portal["token"],
        },
    )
    assert response.status_code == 303
    page = _text(client.get(f"/vendor/apps/{app.slug}/edit"))
    assert 'value="12500.50"' in page
    client.post("/language", data={"lang": "nb", "csrf_token": portal["token"]})
    page = _text(client.get(f"/vendor/apps/{app.slug}/edit"))
    assert 'value="12500,50"' in page


def test_a_logo_and_a_screenshot_are_uploaded_shown_and_removed(client, portal):
    app = portal["app"]
    response = client.post(
        f"/vendor/apps/{app.slug}/logo",
        data={"logo": (io.BytesIO(_png()), "logo.png"), "csrf_token": portal["token"]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    response = client.post(
        f"/vendor/apps/{app.slug}/screenshots",
        data={
            "screenshot": (io.BytesIO(_png((320, 200))), "skjerm.png"),
            "caption": "NEWS2-skåren for en pasient",
            "csrf_token": portal["token"],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    db.session.expire_all()
    application = db.session.get(Application, app.id)
    assert application.logo_content_type == "image/png"
    (shot,) = application.screenshots
    page = _text(client.get(f"/vendor/apps/{app.slug}"))
    assert f"/media/{application.logo_sha256}" in page
    assert 'alt="NEWS2-skåren for en pasient"' in page
    assert client.get(f"/media/{shot.sha256}").mimetype == "image/png"
    response = client.post(
        f"/vendor/apps/{app.slug}/screenshots/{shot.id}/remove",
        data={"csrf_token": portal["token"]},
    )
    assert response.status_code == 303
    assert _count(Screenshot, Screenshot.application_id == app.id) == 0


def test_an_upload_that_is_not_an_image_is_refused_with_a_message(client, portal):
    app = portal["app"]
    response = client.post(
        f"/vendor/apps/{app.slug}/logo",
        data={"logo": (io.BytesIO(b"<html>hi</html>"), "logo.png"), "csrf_token": portal["token"]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = _text(response)
    assert 'id="logo-error"' in page
    assert "Upload a PNG, JPEG or WebP image." in page
    response = client.post(
        f"/vendor/apps/{app.slug}/screenshots",
        data={
            "screenshot": (io.BytesIO(PDF), "shot.png"),
            "caption": "",
            "csrf_token": portal["token"],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert 'id="screenshot-error"' in _text(response)
    db.session.expire_all()
    assert db.session.get(Application, app.id).logo_sha256 is None
    assert _count(Screenshot) == 0


def test_an_oversized_image_is_refused_with_a_message(client, portal):
    app = portal["app"]
    # Over the logo's limit but within the route's: the form says so on the field.
    response = client.post(
        f"/vendor/apps/{app.slug}/logo",
        data={
            "logo": (io.BytesIO(_png() + b"\0" * (2 * 1024 * 1024)), "big.png"),
            "csrf_token": portal["token"],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "The file is larger than 1 MB." in _text(response)
    # 50 MB: refused before the form is read, with the limits spelled out.
    response = client.post(
        f"/vendor/apps/{app.slug}/screenshots",
        data={
            "screenshot": (io.BytesIO(b"\x89PNG" + b"\0" * (50 * 1024 * 1024)), "huge.png"),
            "caption": "Huge",
            "csrf_token": portal["token"],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    page = _text(response)
    assert "a screenshot 5 MB" in page
    assert "choose a smaller file" in page
    db.session.expire_all()
    assert db.session.get(Application, app.id).logo_sha256 is None
    assert _count(Screenshot) == 0


# --- releases ------------------------------------------------------------------


def test_a_new_release_starts_as_an_empty_draft_and_says_so(client, portal):
    app = portal["app"]
    page = _text(client.get(f"/vendor/apps/{app.slug}/releases/new"))
    assert "nothing is copied from earlier releases" in page
    assert "The latest release is 1.0.0" in page
    response = client.post(
        f"/vendor/apps/{app.slug}/releases/new",
        data={"version": "0.5.0", "client_type": "public", "csrf_token": portal["token"]},
    )
    assert response.status_code == 422
    assert "A new release needs a version above 1.0.0." in _text(response)
    response = client.post(
        f"/vendor/apps/{app.slug}/releases/new",
        data={"version": "1.1.0", "client_type": "public", "csrf_token": portal["token"]},
    )
    assert response.status_code == 303
    new = releases.get_for_app(app, "1.1.0")
    assert (new.state, new.scopes, new.redirect_uris, new.launch_url) == (S.DRAFT, "", [], None)


def test_a_draft_is_saved_and_its_scopes_are_explained(client, portal):
    app, draft = portal["app"], portal["draft"]
    page = _text(client.get(f"/vendor/apps/{app.slug}/releases/{draft.version}"))
    assert "R4" in page
    response = client.post(
        f"/vendor/apps/{app.slug}/releases/{draft.version}",
        data={
            **_draft_form(
                draft,
                redirect_uris="https://app.example/cb\n\nhttp://localhost:8080/cb\n",
                scopes="launch openid fhirUser\npatient/Observation.rs",
                launch_modes=["ehr"],
                launch_url="",
            ),
            "csrf_token": portal["token"],
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    saved = db.session.get(Release, draft.id)
    assert saved.redirect_uris == ["https://app.example/cb", "http://localhost:8080/cb"]
    assert saved.scopes == "launch openid fhirUser patient/Observation.rs"
    assert saved.launch_modes == ["ehr"]
    assert saved.launch_url is None
    page = _text(client.get(f"/vendor/apps/{app.slug}/releases/{draft.version}"))
    assert "patient/Observation.rs" in page
    assert 'class="scope-meaning"' in page
    assert "The launch URL." in page  # back on the checklist


@pytest.mark.parametrize(
    ("audience", "changes", "field", "message"),
    [
        (
            Audience.CLINICIAN,
            {"redirect_uris": "https://app.example/cb\nhttps://app.example/cb#x"},
            "redirect_uris",
            "Line 2: A redirect URI has no fragment",
        ),
        (
            Audience.PATIENT,
            {"scopes": "launch/patient openid */*.*"},
            "scopes",
            "*/*.*: a resource scope starts with patient/, user/ or system/.",
        ),
        (
            Audience.PATIENT,
            {"scopes": "launch/patient openid patient/*.*"},
            "scopes",
            "a patient app must name the resource types it uses",
        ),
    ],
)
def test_a_bad_draft_is_422_and_leaves_the_release_unchanged(
    client, portal, audience, changes, field, message
):
    app, draft = portal["app"], portal["draft"]
    app.audience = audience
    db.session.flush()
    before = _snapshot(draft)
    response = client.post(
        f"/vendor/apps/{app.slug}/releases/{draft.version}",
        data={**_draft_form(draft, **changes), "csrf_token": portal["token"]},
    )
    assert response.status_code == 422
    page = _text(response)
    assert f'id="{field}-error"' in page
    assert message in page
    assert _snapshot(draft) == before


def test_a_private_key_in_the_key_set_is_refused(client, portal):
    app = portal["app"]
    draft = ReleaseFactory(
        application=app, version="2.0.0", client_type=ClientType.CONFIDENTIAL_KEY
    )
    key = ec.generate_private_key(ec.SECP256R1())
    private = ec_jwk(key, "k1", d="c2VjcmV0LWtleS1tYXRlcmlhbA")
    before = _snapshot(draft)
    page = _text(client.get(f"/vendor/apps/{app.slug}/releases/2.0.0"))
    assert 'for="jwks"' in page
    for jwks, message in (
        (json.dumps({"keys": [private]}), "Key 1: This is a private or secret key."),
        ("{not json", "This is not valid JSON."),
    ):
        response = client.post(
            f"/vendor/apps/{app.slug}/releases/2.0.0",
            data={**_draft_form(draft, jwks=jwks, jwks_url=""), "csrf_token": portal["token"]},
        )
        assert response.status_code == 422
        page = _text(response)
        assert 'id="jwks-error"' in page
        assert message in page
    assert _snapshot(draft) == before
    public = ec_jwk(key, "k1")
    response = client.post(
        f"/vendor/apps/{app.slug}/releases/2.0.0",
        data={
            **_draft_form(draft, jwks=json.dumps({"keys": [public]}), jwks_url=""),
            "csrf_token": portal["token"],
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert [k["kid"] for k in db.session.get(Release, draft.id).jwks["keys"]] == ["k1"]


def test_a_concurrent_edit_of_a_draft_is_refused(client, portal):
    app, draft = portal["app"], portal["draft"]
    stale = draft.version_id
    releases.update_draft(draft, releases.ReleaseInput(release_notes="Other."), by=portal["member"])
    db.session.flush()
    response = client.post(
        f"/vendor/apps/{app.slug}/releases/{draft.version}",
        data={
            **_draft_form(draft, release_notes="Mine.", version_id=stale),
            "csrf_token": portal["token"],
        },
    )
    assert response.status_code == 412
    db.session.expire_all()
    assert db.session.get(Release, draft.id).release_notes == "Other."


def test_a_submitted_release_is_read_only_and_refuses_edits(client, portal):
    app = portal["app"]
    submitted = _submitted(app, portal["member"], portal["criteria"])
    page = _text(client.get(f"/vendor/apps/{app.slug}/releases/{submitted.version}"))
    assert "cannot change" in page
    assert "A change means a new release." in page
    assert 'name="release_notes"' not in page
    assert f'href="/vendor/apps/{app.slug}/releases/new"' in page
    before = _snapshot(submitted)
    response = client.post(
        f"/vendor/apps/{app.slug}/releases/{submitted.version}",
        data={**_draft_form(submitted, release_notes="Changed."), "csrf_token": portal["token"]},
    )
    assert response.status_code == 409
    assert "Make a new release instead." in _text(response)
    evidence = submitted.evidence[0]
    for path in (
        f"/vendor/apps/{app.slug}/releases/{submitted.version}/evidence/{evidence.id}/remove",
        f"/vendor/apps/{app.slug}/releases/{submitted.version}/submit",
    ):
        assert client.post(path, data={"csrf_token": portal["token"]}).status_code == 409
    code = evidence.criterion.code
    response = client.post(
        f"/vendor/apps/{app.slug}/releases/{submitted.version}/criteria/{code}/evidence",
        data={
            f"evidence-{code}-file": (io.BytesIO(PDF), "late.pdf"),
            f"evidence-{code}-issued_on": utcnow().date().isoformat(),
            "csrf_token": portal["token"],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 409
    assert _snapshot(submitted) == before
    assert _count(Evidence, Evidence.release_id == submitted.id) == len(submitted.evidence)
    assert _count(ReleaseEvent, ReleaseEvent.release_id == submitted.id) == 1


def test_submitting_with_missing_items_is_refused_and_lists_them(client, portal):
    app, draft = portal["app"], portal["draft"]
    page = _text(client.get(f"/vendor/apps/{app.slug}/releases/{draft.version}"))
    assert 'disabled aria-describedby="missing"' in page
    mandatory = [c for c in portal["criteria"] if c.mandatory]
    assert f"Evidence for {mandatory[0].code}" in page
    response = client.post(
        f"/vendor/apps/{app.slug}/releases/{draft.version}/submit",
        data={"csrf_token": portal["token"]},
    )
    assert response.status_code == 422
    page = _text(response)
    assert "The release is not complete yet." in page
    assert f"Evidence for {mandatory[-1].code}" in page
    assert _snapshot(draft)[0] == S.DRAFT
    assert _count(ReleaseEvent, ReleaseEvent.release_id == draft.id) == 0


def test_evidence_is_uploaded_downloaded_by_members_only_and_removed(client, portal):
    app, draft = portal["app"], portal["draft"]
    criterion = portal["criteria"][0]
    prefix = f"evidence-{criterion.code}"
    base = f"/vendor/apps/{app.slug}/releases/{draft.version}"
    issued = (utcnow().date() - dt.timedelta(days=10)).isoformat()
    # Not a document, and an expiry before the issue date: both on the form, nothing stored.
    response = client.post(
        f"{base}/criteria/{criterion.code}/evidence",
        data={
            f"{prefix}-file": (io.BytesIO(b"<script>alert(1)</script>"), "x.html"),
            f"{prefix}-issued_on": issued,
            "csrf_token": portal["token"],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert f'id="{prefix}-file-error"' in _text(response)
    response = client.post(
        f"{base}/criteria/{criterion.code}/evidence",
        data={
            f"{prefix}-file": (io.BytesIO(PDF), "pentest.pdf"),
            f"{prefix}-issued_on": issued,
            f"{prefix}-expires_on": "2000-01-01",
            "csrf_token": portal["token"],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert f'id="{prefix}-expires_on-error"' in _text(response)
    assert _count(Evidence) == 0
    response = client.post(
        f"{base}/criteria/{criterion.code}/evidence",
        data={
            f"{prefix}-file": (io.BytesIO(PDF), "Pen-test rapport.html"),
            f"{prefix}-issued_on": issued,
            "csrf_token": portal["token"],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    (evidence,) = db.session.scalars(sa.select(Evidence)).all()
    assert evidence.filename == "Pen-test rapport.pdf"
    download = client.get(f"{base}/evidence/{evidence.id}")
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.data == PDF
    outsider = member_of(VendorFactory())
    token = _sign_in(client, outsider)
    assert client.get(f"{base}/evidence/{evidence.id}").status_code == 403
    assert (
        client.post(f"{base}/evidence/{evidence.id}/remove", data={"csrf_token": token}).status_code
        == 403
    )
    token = _sign_in(client, portal["member"])
    response = client.post(f"{base}/evidence/{evidence.id}/remove", data={"csrf_token": token})
    assert response.status_code == 303
    assert _count(Evidence) == 0


def test_rejection_and_expiry_reasons_are_shown_prominently(client, portal):
    app, member = portal["app"], portal["member"]
    rejected = _submitted(app, member, portal["criteria"], version="0.8.0")
    decider = reviewer()
    reviews.start(rejected, by=decider)
    reviews.reject(rejected, by=decider, reason="Redirect URI points to a test server.")
    certified = _submitted(app, member, portal["criteria"], version="0.9.0")
    reviews.start(certified, by=decider)
    for criterion in portal["criteria"]:
        reviews.record_check(certified, criterion, "passed", "", by=decider)
    reviews.certify(certified, by=decider)
    releases.notice(certified, "Evidence for PENTEST expires on 2030-01-01.")
    db.session.flush()
    page = _text(client.get(f"/vendor/apps/{app.slug}/releases/0.8.0"))
    assert 'id="decision"' in page
    assert "Redirect URI points to a test server." in page
    page = _text(client.get(f"/vendor/apps/{app.slug}/releases/0.9.0"))
    assert "Evidence for PENTEST expires on 2030-01-01." in page
    dashboard = _text(client.get("/vendor/"))
    assert "Release 0.9.0:" in dashboard
    assert "Evidence for PENTEST expires on 2030-01-01." in dashboard


# --- the whole way, through the pages ------------------------------------------------


def test_the_whole_way_from_a_new_app_to_production_credentials(client, portal):
    token, vendor = portal["token"], portal["vendor"]
    response = client.post(
        f"/vendor/org/{vendor.slug}/apps/new",
        data={**_listing(slug="tjenesteoversikt"), "csrf_token": token},
    )
    assert response.status_code == 303
    base = "/vendor/apps/tjenesteoversikt"
    response = client.post(
        f"{base}/releases/new",
        data={"version": "1.0.0", "client_type": "confidential_secret", "csrf_token": token},
    )
    assert response.headers["Location"] == f"{base}/releases/1.0.0"
    page = _text(client.get(f"{base}/releases/1.0.0"))
    version_id = re.search(r'name="version_id"[^>]*value="(\d+)"', page).group(1)
    response = client.post(
        f"{base}/releases/1.0.0",
        data={
            "client_type": "confidential_secret",
            "launch_url": "https://tjenester.example/launch",
            "redirect_uris": "https://tjenester.example/callback",
            "scopes": "launch openid fhirUser patient/EpisodeOfCare.rs patient/CarePlan.rs",
            "launch_modes": ["ehr"],
            "release_notes": "Første utgave.",
            "data_use_statement": "Leser tjenestene pasienten mottar. Skriver ingenting.",
            "version_id": version_id,
            "csrf_token": token,
        },
    )
    assert response.status_code == 303
    issued = (utcnow().date() - dt.timedelta(days=1)).isoformat()
    for criterion in portal["criteria"]:
        if not criterion.mandatory:
            continue
        prefix = f"evidence-{criterion.code}"
        response = client.post(
            f"{base}/releases/1.0.0/criteria/{criterion.code}/evidence",
            data={
                f"{prefix}-file": (
                    io.BytesIO(PDF + criterion.code.encode()),
                    f"{criterion.code}.pdf",
                ),
                f"{prefix}-issued_on": issued,
                "csrf_token": token,
            },
            content_type="multipart/form-data",
        )
        assert response.status_code == 303, criterion.code
    page = _text(client.get(f"{base}/releases/1.0.0"))
    assert "Everything needed is there." in page
    assert 'id="missing"' not in page
    response = client.post(f"{base}/releases/1.0.0/submit", data={"csrf_token": token})
    assert response.status_code == 303
    application = db.session.scalar(
        sa.select(Application).where(Application.slug == "tjenesteoversikt")
    )
    release = releases.get_for_app(application, "1.0.0")
    assert release.state == S.SUBMITTED
    # A second submission is a conflict, not a second history line.
    assert (
        client.post(f"{base}/releases/1.0.0/submit", data={"csrf_token": token}).status_code == 409
    )
    # The certification body decides, through its services.
    decider = reviewer()
    reviews.start(release, by=decider)
    for criterion in portal["criteria"]:
        reviews.record_check(release, criterion, "passed", "", by=decider)
    reviews.certify(release, by=decider)
    db.session.flush()
    page = _text(client.get("/vendor/"))
    assert "state-certified" in page
    page = _text(client.get(f"{base}/credentials"))
    production = credentials.find_client(application, Environment.PRODUCTION)
    assert production.client_id in page
    assert "Production" in page
    assert "Sandbox" in page
    response = client.post(
        f"{base}/credentials/{production.client_id}/secrets", data={"csrf_token": token}
    )
    assert response.status_code == 201
    first = re.search(r'id="new-secret">([^<]+)<', _text(response)).group(1)
    assert credentials.authenticate(production.client_id, first) is not None
    # Shown once: not on the next page, not in the session.
    page = _text(client.get(f"{base}/credentials"))
    assert first not in page
    with client.session_transaction() as session:
        assert first not in json.dumps(dict(session), default=str)
    prefix = f"{production.client_id}-"
    response = client.post(
        f"{base}/credentials/{production.client_id}/rotate",
        data={f"{prefix}grace_days": "31", f"{prefix}csrf_token": token},
    )
    assert response.status_code == 422
    assert "The grace period is 0 to 30 days." in _text(response)
    response = client.post(
        f"{base}/credentials/{production.client_id}/rotate",
        data={f"{prefix}grace_days": "3", f"{prefix}csrf_token": token},
    )
    assert response.status_code == 201
    second = re.search(r'id="new-secret">([^<]+)<', _text(response)).group(1)
    assert second != first
    assert credentials.authenticate(production.client_id, second) is not None
    db.session.expire_all()
    old = db.session.scalar(
        sa.select(ClientSecret).where(ClientSecret.prefix == first.removeprefix("torget_cs_")[:8])
    )
    assert old.expires_at is not None
    response = client.post(
        f"{base}/credentials/{production.client_id}/secrets/{old.id}/revoke",
        data={"csrf_token": token},
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert credentials.authenticate(production.client_id, first) is None


def test_a_key_client_shows_its_key_ids_and_has_no_secrets(client, portal):
    app, member = portal["app"], portal["member"]
    key = ec.generate_private_key(ec.SECP256R1())
    release = ReleaseFactory(
        application=app,
        version="0.9.0",
        client_type=ClientType.CONFIDENTIAL_KEY,
        jwks={"keys": [ec_jwk(key, "signing-2026")]},
    )
    _with_evidence(release, portal["criteria"])
    releases.submit(release, by=member)
    db.session.flush()
    page = _text(client.get(f"/vendor/apps/{app.slug}/credentials"))
    assert "signing-2026" in page
    assert "Create a secret" not in page
    sandbox = credentials.find_client(app, Environment.SANDBOX)
    response = client.post(
        f"/vendor/apps/{app.slug}/credentials/{sandbox.client_id}/secrets",
        data={"csrf_token": portal["token"]},
    )
    assert response.status_code == 409
    assert _count(ClientSecret) == 0


# --- members and invitations -----------------------------------------------------


def _invite(client, portal, email: str) -> str:
    response = client.post(
        f"/vendor/org/{portal['vendor'].slug}/invitations",
        data={"email": email, "csrf_token": portal["token"]},
    )
    assert response.status_code == 201
    link = re.search(r'id="invitation-link">([^<]+)<', _text(response)).group(1)
    assert link.startswith("http://localhost/vendor/invitations/torget_inv_")
    return link.removeprefix("http://localhost")


def test_an_invited_person_accepts_and_becomes_a_member(client, portal):
    colleague = UserFactory(email="kollega@example.no")
    path = _invite(client, portal, "Kollega@Example.no")
    members_page = _text(client.get(f"/vendor/org/{portal['vendor'].slug}/members"))
    assert "kollega@example.no" in members_page
    assert path not in members_page  # the link was shown once
    token = _sign_in(client, colleague)
    page = _text(client.get(path))
    assert portal["vendor"].name in page
    assert "Accept the invitation" in page
    response = client.post(path, data={"csrf_token": token})
    assert response.status_code == 303
    db.session.expire_all()
    assert vendors.is_member(db.session.get(type(colleague), colleague.id), portal["vendor"])
    assert client.get(f"/vendor/apps/{portal['app'].slug}").status_code == 200
    # Used: the link works once.
    assert client.get(path).status_code == 404
    assert client.post(path, data={"csrf_token": token}).status_code == 404


def test_an_expired_revoked_or_foreign_invitation_is_refused(client, portal):
    expired = _invite(client, portal, "sen@example.no")
    revoked = _invite(client, portal, "angret@example.no")
    foreign = _invite(client, portal, "annen@example.no")
    invitation = db.session.scalar(
        sa.select(VendorInvitation).where(VendorInvitation.email == "angret@example.no")
    )
    response = client.post(
        f"/vendor/org/{portal['vendor'].slug}/invitations/{invitation.id}/revoke",
        data={"csrf_token": portal["token"]},
    )
    assert response.status_code == 303
    db.session.execute(
        sa.update(VendorInvitation)
        .where(VendorInvitation.email == "sen@example.no")
        .values(expires_at=utcnow() - dt.timedelta(minutes=1))
    )
    late = UserFactory(email="sen@example.no")
    token = _sign_in(client, late)
    for path in (expired, revoked, "/vendor/invitations/torget_inv_made-up"):
        assert client.get(path).status_code == 404, path
        response = client.post(path, data={"csrf_token": token})
        assert response.status_code == 404
        assert "may be used, revoked or expired" in _text(response)
    response = client.post(foreign, data={"csrf_token": token})
    assert response.status_code == 403
    assert "This invitation is for annen@example.no." in _text(response)
    assert (
        _count(Membership, Membership.user_id == late.id, Membership.role == Role.VENDOR_MEMBER)
        == 0
    )


def test_inviting_a_bad_address_or_a_member_is_422(client, portal):
    before = _count(VendorInvitation)
    for email, message in (
        ("not an address", "This is not a valid email address."),
        (portal["member"].email, "is a member already"),
    ):
        response = client.post(
            f"/vendor/org/{portal['vendor'].slug}/invitations",
            data={"email": email, "csrf_token": portal["token"]},
        )
        assert response.status_code == 422
        page = _text(response)
        assert 'id="email-error"' in page
        assert message in page
    assert _count(VendorInvitation) == before


def test_the_profile_is_edited_and_checked(client, portal):
    vendor = portal["vendor"]
    path = f"/vendor/org/{vendor.slug}/profile"
    response = client.post(
        path,
        data={
            "contact_email": "ny@vendor.example",
            "security_email": "x",
            "website": "http://vendor.example",
            "csrf_token": portal["token"],
        },
    )
    assert response.status_code == 422
    page = _text(response)
    assert 'id="security_email-error"' in page
    assert 'id="website-error"' in page
    db.session.expire_all()
    assert db.session.get(Vendor, vendor.id).contact_email != "ny@vendor.example"
    response = client.post(
        path,
        data={
            "contact_email": "ny@vendor.example",
            "security_email": "sikkerhet@vendor.example",
            "website": "https://vendor.example/ny",
            "csrf_token": portal["token"],
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Vendor, vendor.id).website == "https://vendor.example/ny"


# --- people without an account ---------------------------------------------------

NEW_PASSWORD = "a-long-new-password-2026"


def _in_english(client) -> None:
    client.post(
        "/language", data={"lang": "en", "csrf_token": csrf_token(client, "/vendor/signup")}
    )


def _anonymous_sign_up(client, **changes: str):
    _in_english(client)
    data = {
        "display_name": "Siri Selger",
        "email": "siri@fjellapp.example",
        "password": NEW_PASSWORD,
        "name": "Fjellapp AS",
        "organisation_number": "974760673",
        "contact_email": "post@fjellapp.example",
        "security_email": "security@fjellapp.example",
        "website": "https://fjellapp.example",
        "csrf_token": csrf_token(client, "/vendor/signup"),
    }
    return client.post("/vendor/signup", data={**data, **changes})


def test_a_visitor_signs_up_with_a_new_account_and_is_signed_in(client, db_session):
    page = _text(client.get("/vendor/signup"))
    assert 'name="display_name"' in page
    assert 'name="password"' in page
    response = _anonymous_sign_up(client)
    assert response.status_code == 303
    vendor = vendors.get_by_slug("fjellapp-as")
    assert [m.email for m in vendors.members(vendor)] == ["siri@fjellapp.example"]
    # Signed in: the dashboard shows the new vendor, and the password works later.
    assert "Fjellapp AS" in _text(client.get("/vendor/"))
    client.post("/logout", data={"csrf_token": csrf_token(client, "/vendor/")})
    assert login(client, "siri@fjellapp.example", NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password": "short"}, "A password is at least"),
        ({"organisation_number": "974760674"}, "nine digits with a valid check digit"),
        ({"email": "taken@example.no"}, "A user with this email address exists."),
    ],
)
def test_a_refused_visitor_sign_up_creates_neither_account_nor_vendor(
    client, db_session, changes, message
):
    UserFactory(email="taken@example.no")
    db.session.flush()
    users_before = _count(User)
    vendors_before = _count(Vendor)
    response = _anonymous_sign_up(client, **changes)
    assert response.status_code == 422
    assert message in _text(response)
    assert (_count(User), _count(Vendor)) == (
        users_before,
        vendors_before,
    )
    # Not signed in: the dashboard still asks for sign-in.
    assert client.get("/vendor/").status_code == 302


def test_an_invited_person_without_an_account_creates_one_and_joins(client, portal):
    path = _invite(client, portal, "ny.kollega@example.no")
    client.post("/logout", data={"csrf_token": portal["token"]})
    _in_english(client)
    page = _text(client.get(path))
    assert "Accept the invitation" in page
    assert 'name="password"' in page
    token = csrf_token(client, path)
    refused = client.post(
        path, data={"display_name": "", "password": NEW_PASSWORD, "csrf_token": token}
    )
    assert refused.status_code == 422
    assert _count(Membership, Membership.role == Role.VENDOR_MEMBER) == 1
    response = client.post(
        path, data={"display_name": "Ny Kollega", "password": NEW_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303
    assert sorted(m.email for m in vendors.members(portal["vendor"])) == sorted(
        [portal["member"].email, "ny.kollega@example.no"]
    )
    assert client.get(f"/vendor/apps/{portal['app'].slug}").status_code == 200
    assert client.get(path).status_code == 404  # used
