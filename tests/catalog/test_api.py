"""The catalog JSON API: the whole certification path, and bad input named one by one.

Every refused write is checked against the database: a 4xx leaves no row changed.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa
from PIL import Image

from accounts.models import Organisation, Role
from catalog import credentials
from catalog.models import (
    Application,
    ClientSecret,
    Criterion,
    Evidence,
    Release,
    ReleaseEvent,
    ReleaseState,
    Screenshot,
    Vendor,
    VendorInvitation,
)
from tests.conftest import bearer as _bearer
from tests.conftest import csrf_token, login
from tests.factories.accounts import PASSWORD, MembershipFactory, UserFactory
from tests.factories.catalog import (
    ApplicationFactory,
    EvidenceFactory,
    ReleaseFactory,
    VendorFactory,
    member_of,
    reviewer,
)
from torget.db import db, utcnow

PROBLEM = "application/problem+json"
S = ReleaseState
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

LISTING = {
    "name": "NEWS2 Demo",
    "summary_nb": "Regner ut NEWS2.",
    "summary_en": "Scores NEWS2.",
    "description_nb": "Regner ut NEWS2 fra vitale målinger.",
    "description_en": "Scores NEWS2 from vital signs.",
    "category": "clinical_decision_support",
    "audience": "clinician",
    "support_url": "https://vendor.example/help",
    "privacy_url": "https://vendor.example/privacy",
    "price_model": "per_inhabitant",
    "price_nok": "2.50",
}
LAUNCH_FIELDS = {
    "launch_url": "https://news2.example/launch",
    "redirect_uris": ["https://news2.example/callback"],
    "scopes": "launch openid fhirUser patient/Patient.r patient/Observation.rs",
    "launch_modes": ["ehr", "standalone"],
    "release_notes": "Første utgave.",
    "data_use_statement": "Leser vitale målinger for pasienten. Skriver ingenting.",
}


def _rows(model: type) -> list[tuple[str, ...]]:
    """Every row of `model` as it is in the database now, for before/after comparisons."""
    db.session.expire_all()
    columns = sa.inspect(model).columns
    return sorted(
        tuple(str(getattr(row, c.key)) for c in columns)
        for row in db.session.scalars(sa.select(model))
    )


def _pointers(response) -> set[str]:
    return {error["pointer"] for error in response.json.get("errors", [])}


def _image(kind: str = "PNG", size: tuple[int, int] = (32, 32)) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, (11, 85, 99)).save(output, kind)
    return output.getvalue()


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert response.json["status"] == status
    return response.json


def _evidence_form(code: str, content: bytes = PDF, **dates: str) -> dict:
    issued = (utcnow().date() - dt.timedelta(days=10)).isoformat()
    return {
        "file": (io.BytesIO(content), "Pen-test report.pdf"),
        "criterion": code,
        "issued_on": dates.get("issued_on", issued),
        **({"expires_on": dates["expires_on"]} if "expires_on" in dates else {}),
    }


@pytest.fixture
def vendor_and_member(db_session):
    vendor = VendorFactory()
    return vendor, member_of(vendor)


@pytest.fixture
def draft(vendor_and_member):
    """A complete draft (evidence aside) of a clinician app, and its member's headers."""
    vendor, member = vendor_and_member
    release = ReleaseFactory(application=ApplicationFactory(vendor=vendor))
    return release, _bearer(member)


# --- the whole path --------------------------------------------------------------


def test_sign_up_to_certified_credentials_through_the_api(client, seeded) -> None:
    signer = UserFactory(email="vilde@nordlys.example")
    vendor_headers = _bearer(signer)
    reviewer_headers = _bearer(reviewer())

    # The vendor signs up and registers an app.
    signed_up = client.post(
        "/api/v1/vendors",
        json={
            "name": "Nordlys Helse AS",
            "organisation_number": "923 609 016",
            "contact_email": "post@nordlys.example",
            "security_email": "security@nordlys.example",
            "website": "https://nordlys.example",
        },
        headers=vendor_headers,
    )
    assert signed_up.status_code == 201, signed_up.json
    assert signed_up.json["slug"] == "nordlys-helse-as"
    assert signed_up.json["verified"] is False
    mine = client.get("/api/v1/vendors", headers=vendor_headers)
    assert [v["slug"] for v in mine.json] == ["nordlys-helse-as"]
    assert json.loads(mine.headers["X-Pagination"])["total"] == 1

    created = client.post(
        "/api/v1/vendors/nordlys-helse-as/applications",
        json={**LISTING, "slug": "news2-demo"},
        headers=vendor_headers,
    )
    assert created.status_code == 201, created.json
    assert created.json["price_nok"] == "2.50"
    assert created.headers["ETag"] == '"1"'

    # A draft, filled in, with evidence for every mandatory criterion.
    started = client.post(
        "/api/v1/applications/news2-demo/releases",
        json={"version": "1.0.0", "client_type": "confidential_secret"},
        headers=vendor_headers,
    )
    assert started.status_code == 201, started.json
    release_id = started.json["id"]
    url = f"/api/v1/releases/{release_id}"
    missing = client.get(f"{url}/missing", headers=vendor_headers).json
    assert missing["complete"] is False
    assert len(missing["missing"]) > 3  # launch fields, notes, evidence: in the reader's language

    filled = client.patch(
        url, json=LAUNCH_FIELDS, headers={**vendor_headers, "If-Match": started.headers["ETag"]}
    )
    assert filled.status_code == 200, filled.json
    assert filled.headers["ETag"] != started.headers["ETag"]
    assert [s["scope"] for s in filled.json["explained_scopes"]][-1] == "patient/Observation.rs"
    assert all(s["meaning"] for s in filled.json["explained_scopes"])

    criteria_list = client.get("/api/v1/criteria?page_size=100", headers=vendor_headers).json
    mandatory = [c["code"] for c in criteria_list if c["mandatory"]]
    assert mandatory
    for code in mandatory:
        uploaded = client.post(f"{url}/evidence", data=_evidence_form(code), headers=vendor_headers)
        assert uploaded.status_code == 201, uploaded.json
        assert uploaded.json["filename"] == "Pen-test report.pdf"
    assert client.get(f"{url}/missing", headers=vendor_headers).json == {
        "complete": True,
        "missing": [],
    }

    submitted = client.post(f"{url}/submit", headers=vendor_headers)
    assert submitted.status_code == 200, submitted.json
    assert submitted.json["state"] == "submitted"

    # The reviewer takes it from the queue, works the checklist and certifies.
    queue = client.get("/api/v1/review/queue", headers=reviewer_headers)
    assert queue.status_code == 200
    (item,) = [i for i in queue.json if i["release"]["id"] == release_id]
    assert item["waiting_seconds"] >= 0
    assert item["release"]["vendor"] == "nordlys-helse-as"
    started_review = client.post(
        f"/api/v1/review/releases/{release_id}/start", headers=reviewer_headers
    )
    assert started_review.json["state"] == "in_review"
    evidence = client.get(url, headers=reviewer_headers).json["evidence"]
    download = client.get(evidence[0]["url"], headers=reviewer_headers)
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.data == PDF
    blocking = client.get(f"/api/v1/review/releases/{release_id}", headers=reviewer_headers)
    assert set(blocking.json["blocking"]) == set(mandatory)
    for criterion in criteria_list:
        checked = client.put(
            f"/api/v1/review/releases/{release_id}/checks/{criterion['code']}",
            json={"outcome": "passed", "comment": "Dokumentasjonen er i orden."},
            headers=reviewer_headers,
        )
        assert checked.status_code == 200, checked.json
    certified = client.post(
        f"/api/v1/review/releases/{release_id}/certify",
        json={"comment": "Alle krav er oppfylt."},
        headers=reviewer_headers,
    )
    assert certified.status_code == 200, certified.json
    assert certified.json["state"] == "certified"

    # The vendor sees the certified state, its history and production credentials.
    seen = client.get(url, headers=vendor_headers).json
    assert seen["state"] == "certified"
    assert {c["outcome"] for c in seen["checks"]} == {"passed"}
    history = client.get(f"{url}/history", headers=vendor_headers).json
    assert [e["to_state"] for e in history] == ["draft", "submitted", "in_review", "certified"]
    assert history[-1]["reason"] == "Alle krav er oppfylt."
    clients = client.get("/api/v1/applications/news2-demo/clients", headers=vendor_headers).json
    environments = {c["environment"]: c["client_id"] for c in clients}
    assert set(environments) == {"sandbox", "production"}
    production = environments["production"]

    first = client.post(f"/api/v1/clients/{production}/secrets", headers=vendor_headers)
    assert first.status_code == 201, first.json
    old_secret = first.json["secret"]
    assert credentials.authenticate(production, old_secret) is not None

    # Rotation: during the grace period both secrets work; a revoked one stops at once.
    rotated = client.post(
        f"/api/v1/clients/{production}/secrets/rotate",
        json={"grace_days": 7},
        headers=vendor_headers,
    )
    assert rotated.status_code == 201, rotated.json
    new_secret = rotated.json["secret"]
    assert new_secret != old_secret
    assert credentials.authenticate(production, old_secret) is not None
    assert credentials.authenticate(production, new_secret) is not None
    listed = client.get("/api/v1/applications/news2-demo/clients", headers=vendor_headers).json
    secrets = next(c for c in listed if c["environment"] == "production")["secrets"]
    assert len(secrets) == 2
    assert all("secret" not in s and "secret_hash" not in s for s in secrets)
    old = next(s for s in secrets if s["id"] == first.json["id"])
    assert old["expires_at"] is not None
    assert old["live"] is True
    revoked = client.delete(
        f"/api/v1/clients/{production}/secrets/{first.json['id']}", headers=vendor_headers
    )
    assert revoked.status_code == 204
    assert credentials.authenticate(production, old_secret) is None
    assert credentials.authenticate(production, new_secret) is not None


# --- vendors ---------------------------------------------------------------------


def _sign_up(client, headers, **overrides):
    body = {
        "name": "Fjordkode AS",
        "organisation_number": "914778271",
        "contact_email": "post@fjordkode.example",
        "security_email": "security@fjordkode.example",
        "website": "https://fjordkode.example",
        **overrides,
    }
    return client.post("/api/v1/vendors", json=body, headers=headers)


@pytest.mark.parametrize("number", ["914778272", "12345678", "abcdefghi", "9147782710", ""])
def test_an_invalid_organisation_number_is_422_and_writes_nothing(client, number) -> None:
    headers = _bearer(UserFactory())
    before = _rows(Organisation), _rows(Vendor)
    problem = _problem(_sign_up(client, headers, organisation_number=number), 422)
    assert "#/organisation_number" in {e["pointer"] for e in problem["errors"]}
    assert (_rows(Organisation), _rows(Vendor)) == before


def test_every_bad_sign_up_field_is_named_at_once(client) -> None:
    headers = _bearer(UserFactory())
    response = _sign_up(
        client, headers, contact_email="not an address", website="javascript:alert(1)", name=""
    )
    _problem(response, 422)
    assert {"#/contact_email", "#/website", "#/name"} <= _pointers(response)


def test_an_organisation_number_signs_up_once(client) -> None:
    headers = _bearer(UserFactory())
    assert _sign_up(client, headers).status_code == 201
    before = _rows(Organisation), _rows(Vendor)
    _problem(_sign_up(client, _bearer(UserFactory()), name="Another AS"), 409)
    assert (_rows(Organisation), _rows(Vendor)) == before


def test_a_session_needs_the_csrf_token_to_sign_up(client) -> None:
    user = UserFactory()
    login(client, user.email, PASSWORD)
    before = _rows(Vendor)
    _problem(_sign_up(client, {}), 400)
    assert _rows(Vendor) == before
    headers = {"X-CSRFToken": csrf_token(client, "/account/tokens")}
    assert _sign_up(client, headers).status_code == 201


def test_a_stranger_neither_reads_nor_changes_a_vendor(client, vendor_and_member) -> None:
    vendor, _member = vendor_and_member
    stranger = _bearer(UserFactory())
    before = _rows(Vendor)
    _problem(client.get(f"/api/v1/vendors/{vendor.slug}", headers=stranger), 403)
    _problem(
        client.patch(
            f"/api/v1/vendors/{vendor.slug}",
            json={"website": "https://evil.example"},
            headers=stranger,
        ),
        403,
    )
    _problem(client.get("/api/v1/vendors/no-such-vendor", headers=stranger), 404)
    assert _rows(Vendor) == before


def test_a_member_changes_the_profile_partly(client, vendor_and_member) -> None:
    vendor, member = vendor_and_member
    headers = _bearer(member)
    changed = client.patch(
        f"/api/v1/vendors/{vendor.slug}",
        json={"security_email": "CERT@Vendor.example"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["security_email"] == "cert@vendor.example"
    assert changed.json["contact_email"] == vendor.contact_email
    before = _rows(Vendor)
    response = client.patch(
        f"/api/v1/vendors/{vendor.slug}", json={"website": "http://vendor.example"}, headers=headers
    )
    assert "#/website" in _pointers(response)
    assert _rows(Vendor) == before


def test_only_an_operator_verifies_a_vendor_once(client, vendor_and_member) -> None:
    vendor, member = vendor_and_member
    url = f"/api/v1/vendors/{vendor.slug}/verify"
    _problem(client.post(url, headers=_bearer(member)), 403)
    _problem(client.post(url, headers=_bearer(reviewer())), 403)
    operator = _bearer(MembershipFactory(role=Role.OPERATOR).user)
    unverified = client.get("/api/v1/review/vendors?verified=false", headers=operator).json
    assert vendor.slug in [v["slug"] for v in unverified]
    verified = client.post(url, headers=operator)
    assert verified.status_code == 200
    assert verified.json["verified"] is True
    _problem(client.post(url, headers=operator), 409)
    listed = client.get("/api/v1/review/vendors?verified=true", headers=operator).json
    assert vendor.slug in [v["slug"] for v in listed]
    _problem(client.get("/api/v1/review/vendors", headers=_bearer(member)), 403)


def test_an_invitation_is_shown_once_and_works_once_for_its_address(
    client, vendor_and_member
) -> None:
    vendor, member = vendor_and_member
    headers = _bearer(member)
    url = f"/api/v1/vendors/{vendor.slug}/invitations"
    created = client.post(url, json={"email": "Nils@Fjord.example"}, headers=headers)
    assert created.status_code == 201, created.json
    token = created.json["token"]
    listed = client.get(url, headers=headers).json
    assert [i["email"] for i in listed] == ["nils@fjord.example"]
    assert "token" not in listed[0]

    wrong = _bearer(UserFactory(email="someone@else.example"))
    _problem(client.post("/api/v1/invitations/accept", json={"token": token}, headers=wrong), 403)
    invited = UserFactory(email="nils@fjord.example")
    accepted = client.post(
        "/api/v1/invitations/accept", json={"token": token}, headers=_bearer(invited)
    )
    assert accepted.status_code == 200, accepted.json
    assert accepted.json["slug"] == vendor.slug
    again = client.post(
        "/api/v1/invitations/accept", json={"token": token}, headers=_bearer(invited)
    )
    _problem(again, 404)
    assert client.get(url, headers=headers).json == []


def test_a_revoked_invitation_stops_working(client, vendor_and_member) -> None:
    vendor, member = vendor_and_member
    headers = _bearer(member)
    url = f"/api/v1/vendors/{vendor.slug}/invitations"
    created = client.post(url, json={"email": "kari@fjord.example"}, headers=headers).json
    _problem(client.delete(f"{url}/{created['id']}", headers=_bearer(UserFactory())), 403)
    assert client.delete(f"{url}/{created['id']}", headers=headers).status_code == 204
    invited = _bearer(UserFactory(email="kari@fjord.example"))
    response = client.post(
        "/api/v1/invitations/accept", json={"token": created["token"]}, headers=invited
    )
    _problem(response, 404)
    assert _rows(VendorInvitation)[0][-1] != "None"  # revoked_at is set


# --- applications ------------------------------------------------------------------


def test_duplicate_slugs_are_refused_also_differing_only_in_case(client, vendor_and_member) -> None:
    vendor, member = vendor_and_member
    headers = _bearer(member)
    url = f"/api/v1/vendors/{vendor.slug}/applications"
    first = client.post(url, json={**LISTING, "slug": "news2-demo"}, headers=headers)
    assert first.status_code == 201
    before = _rows(Application)
    for slug in ("news2-demo", "NEWS2-Demo", " news2-demo "):
        _problem(client.post(url, json={**LISTING, "slug": slug}, headers=headers), 409)
    bad = client.post(url, json={**LISTING, "slug": "news 2/demo"}, headers=headers)
    _problem(bad, 422)
    assert "#/slug" in _pointers(bad)
    assert _rows(Application) == before


def test_another_vendors_member_cannot_touch_an_app(client, draft) -> None:
    release, _headers = draft
    application = release.application
    outsider = _bearer(member_of(VendorFactory()))
    before = _rows(Application), _rows(Release)
    url = f"/api/v1/applications/{application.slug}"
    _problem(client.get(url, headers=outsider), 403)
    _problem(
        client.patch(url, json={"name": "Mine now"}, headers={**outsider, "If-Match": "*"}), 403
    )
    _problem(
        client.post(
            f"/api/v1/vendors/{application.vendor.slug}/applications",
            json={**LISTING, "slug": "sneaky"},
            headers=outsider,
        ),
        403,
    )
    _problem(
        client.post(
            f"{url}/releases", json={"version": "9.0.0", "client_type": "public"}, headers=outsider
        ),
        403,
    )
    # Outside its vendor, a draft does not exist.
    _problem(client.get(f"/api/v1/releases/{release.id}", headers=outsider), 404)
    _problem(client.get(f"{url}/clients", headers=outsider), 403)
    assert (_rows(Application), _rows(Release)) == before


def test_an_app_listing_changes_with_if_match(client, draft) -> None:
    release, headers = draft
    url = f"/api/v1/applications/{release.application.slug}"
    seen = client.get(url, headers=headers)
    assert seen.status_code == 200
    _problem(client.patch(url, json={"name": "Nytt navn"}, headers=headers), 428)
    changed = client.patch(
        url, json={"name": "Nytt navn"}, headers={**headers, "If-Match": seen.headers["ETag"]}
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["name"] == "Nytt navn"
    assert changed.json["summary_nb"] == release.application.summary_nb
    before = _rows(Application)
    stale = client.patch(
        url, json={"name": "Gammelt"}, headers={**headers, "If-Match": seen.headers["ETag"]}
    )
    _problem(stale, 412)
    # A price model names what it needs: a price per use needs a price and a unit.
    priced = client.patch(
        url,
        json={"price_model": "per_use"},
        headers={**headers, "If-Match": changed.headers["ETag"]},
    )
    _problem(priced, 422)
    assert {"#/price_nok", "#/usage_unit"} <= _pointers(priced)
    assert _rows(Application) == before


def test_logo_and_screenshots_are_checked_images(client, draft) -> None:
    release, headers = draft
    url = f"/api/v1/applications/{release.application.slug}"
    logo = client.put(
        f"{url}/logo", data={"file": (io.BytesIO(_image("PNG")), "logo.png")}, headers=headers
    )
    assert logo.status_code == 200, logo.json
    assert logo.json["logo_url"].startswith("/media/")
    assert client.get(logo.json["logo_url"]).mimetype == "image/png"

    shot = client.post(
        f"{url}/screenshots",
        data={"file": (io.BytesIO(_image("JPEG")), "skjerm.jpg"), "caption": "NEWS2-skåren"},
        headers=headers,
    )
    assert shot.status_code == 201, shot.json
    assert shot.json["content_type"] == "image/jpeg"
    assert client.get(url, headers=headers).json["screenshots"][0]["caption"] == "NEWS2-skåren"
    removed = client.delete(f"{url}/screenshots/{shot.json['id']}", headers=headers)
    assert removed.status_code == 204
    _problem(client.delete(f"{url}/screenshots/{shot.json['id']}", headers=headers), 404)
    assert _rows(Screenshot) == []


def test_a_non_image_a_huge_image_and_a_json_body_are_refused(client, draft) -> None:
    release, headers = draft
    url = f"/api/v1/applications/{release.application.slug}"
    before = _rows(Application), _rows(Screenshot)
    not_image = client.put(
        f"{url}/logo",
        data={"file": (io.BytesIO(b"<svg onload=alert(1)>"), "logo.png")},
        headers=headers,
    )
    _problem(not_image, 422)
    assert _pointers(not_image) == {"#/logo"}
    fifty_mb = client.post(
        f"{url}/screenshots",
        data={
            "file": (io.BytesIO(b"\x89PNG" + b"\0" * (50 * 1024 * 1024)), "big.png"),
            "caption": "Stor",
        },
        headers=headers,
    )
    _problem(fifty_mb, 413)
    too_big_for_a_logo = client.put(
        f"{url}/logo",
        data={"file": (io.BytesIO(_image("PNG") + b"\0" * (1024 * 1024)), "logo.png")},
        headers=headers,
    )
    _problem(too_big_for_a_logo, 422)
    json_body = client.put(f"{url}/logo", json={"file": "aGVsbG8="}, headers=headers)
    assert "multipart/form-data" in _problem(json_body, 415)["detail"]
    no_file = client.put(
        f"{url}/logo",
        data={"file": "not a file"},
        content_type="multipart/form-data",
        headers=headers,
    )
    _problem(no_file, 422)
    assert _pointers(no_file) == {"#/file"}
    multipart_to_json = client.post(
        "/api/v1/vendors", data={"name": "X"}, content_type="multipart/form-data", headers=headers
    )
    _problem(multipart_to_json, 415)
    assert (_rows(Application), _rows(Screenshot)) == before


# --- releases --------------------------------------------------------------------


def _patch_release(client, release, headers, body, etag: str | None = None):
    url = f"/api/v1/releases/{release.id}"
    etag = etag or client.get(url, headers=headers).headers["ETag"]
    return client.patch(url, json=body, headers={**headers, "If-Match": etag})


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("https://news2.example/cb#done", "fragment"),
        ("https://*.news2.example/cb", "wildcard"),
        ("https://user:pw@news2.example/cb", "userinfo"),
        ("http://news2.example/cb", "http on a non-local host"),
        ("news2://cb", "not a web address"),
    ],
)
def test_bad_redirect_uris_are_422_and_change_nothing(client, draft, uri, why) -> None:
    release, headers = draft
    before = _rows(Release)
    response = _patch_release(
        client, release, headers, {"redirect_uris": ["https://news2.example/ok", uri]}
    )
    _problem(response, 422)
    assert any(p.startswith("#/redirect_uris") for p in _pointers(response)), why
    assert _rows(Release) == before


@pytest.mark.parametrize(
    ("audience", "scopes"),
    [
        ("clinician", "patient/Observation.rx"),
        ("clinician", "launch openid patient/Observation.read.all"),
        ("patient", "openid fhirUser */*.*"),
        ("patient", "openid fhirUser patient/*.*"),
        ("clinician", "openid user/*.cruds"),
    ],
)
def test_scopes_that_do_not_parse_or_ask_too_much_are_refused(
    client, vendor_and_member, audience, scopes
) -> None:
    vendor, member = vendor_and_member
    release = ReleaseFactory(application=ApplicationFactory(vendor=vendor, audience=audience))
    headers = _bearer(member)
    before = _rows(Release)
    response = _patch_release(client, release, headers, {"scopes": scopes})
    _problem(response, 422)
    assert _pointers(response) == {"#/scopes"}
    assert _rows(Release) == before


def test_a_jwk_set_with_a_private_key_is_refused(client, vendor_and_member) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from joserfc.jwk import ECKey

    vendor, member = vendor_and_member
    release = ReleaseFactory(
        application=ApplicationFactory(vendor=vendor), client_type="confidential_key"
    )
    private = ECKey.import_key(ec.generate_private_key(ec.SECP256R1()))
    public_jwk = {**private.as_dict(private=False), "kid": "one"}
    private_jwk = {**private.as_dict(private=True), "kid": "two"}
    headers = _bearer(member)
    before = _rows(Release)
    response = _patch_release(
        client, release, headers, {"jwks": {"keys": [public_jwk, private_jwk]}}
    )
    _problem(response, 422)
    assert _pointers(response) == {"#/jwks/keys/1"}
    assert _rows(Release) == before
    accepted = _patch_release(client, release, headers, {"jwks": {"keys": [public_jwk]}})
    assert accepted.status_code == 200, accepted.json
    assert "d" not in accepted.json["jwks"]["keys"][0]


def test_two_people_editing_one_draft_the_second_gets_412(client, draft) -> None:
    release, alice = draft
    bob = _bearer(member_of(release.application.vendor))
    url = f"/api/v1/releases/{release.id}"
    alice_saw = client.get(url, headers=alice).headers["ETag"]
    bob_saw = client.get(url, headers=bob).headers["ETag"]
    assert alice_saw == bob_saw

    first = client.patch(
        url, json={"release_notes": "Alice's notes"}, headers={**alice, "If-Match": alice_saw}
    )
    assert first.status_code == 200, first.json
    assert first.headers["ETag"] != alice_saw
    before = _rows(Release)
    second = client.patch(
        url, json={"release_notes": "Bob's notes"}, headers={**bob, "If-Match": bob_saw}
    )
    _problem(second, 412)
    assert _rows(Release) == before
    assert client.get(url, headers=bob).json["release_notes"] == "Alice's notes"

    # Bob reloads and edits on top of Alice's change.
    fresh = client.get(url, headers=bob).headers["ETag"]
    retried = client.patch(
        url, json={"data_use_statement": "Bob's statement"}, headers={**bob, "If-Match": fresh}
    )
    assert retried.status_code == 200
    assert retried.json["release_notes"] == "Alice's notes"


def test_an_edit_without_if_match_is_428_and_a_list_or_star_matches(client, draft) -> None:
    release, headers = draft
    url = f"/api/v1/releases/{release.id}"
    before = _rows(Release)
    _problem(client.patch(url, json={"release_notes": "x"}, headers=headers), 428)
    _problem(
        client.patch(url, json={"release_notes": "x"}, headers={**headers, "If-Match": '"zz"'}),
        412,
    )
    _problem(
        client.patch(url, json={"release_notes": "x"}, headers={**headers, "If-Match": 'W/"1"'}),
        412,
    )
    assert _rows(Release) == before
    etag = client.get(url, headers=headers).headers["ETag"]
    listed = client.patch(
        url, json={"release_notes": "y"}, headers={**headers, "If-Match": f'"99", {etag}'}
    )
    assert listed.status_code == 200
    star = client.patch(url, json={"release_notes": "z"}, headers={**headers, "If-Match": "*"})
    assert star.status_code == 200
    assert star.json["release_notes"] == "z"


def test_null_empties_a_draft_field_and_the_version_is_fixed(client, draft) -> None:
    release, headers = draft
    cleared = _patch_release(client, release, headers, {"launch_url": None, "launch_modes": None})
    assert cleared.status_code == 200, cleared.json
    assert cleared.json["launch_url"] is None
    assert cleared.json["launch_modes"] == []
    before = _rows(Release)
    fixed = _patch_release(client, release, headers, {"version": "7.0.0"})
    assert _pointers(fixed) == {"#/version"}
    unknown = _patch_release(client, release, headers, {"state": "certified"})
    _problem(unknown, 422)
    assert _pointers(unknown) == {"#/state"}
    nul = _patch_release(client, release, headers, {"release_notes": "a\x00b"})
    _problem(nul, 422)
    assert _pointers(nul) == {"#/release_notes"}
    assert _rows(Release) == before


def test_an_incomplete_draft_is_not_submitted(client, draft, seeded) -> None:
    release, headers = draft
    before = _rows(Release), _rows(ReleaseEvent)
    response = client.post(f"/api/v1/releases/{release.id}/submit", headers=headers)
    problem = _problem(response, 422)
    mandatory = [c.code for c in seeded if c.mandatory]
    assert all(any(code in e["detail"] for e in problem["errors"]) for code in mandatory)
    assert (_rows(Release), _rows(ReleaseEvent)) == before


def _complete(release, criteria_list) -> None:
    for criterion in criteria_list:
        if criterion.mandatory:
            EvidenceFactory(release=release, criterion=criterion)


def test_submitting_twice_is_409_and_a_submitted_release_never_changes(
    client, draft, seeded
) -> None:
    release, headers = draft
    _complete(release, seeded)
    url = f"/api/v1/releases/{release.id}"
    assert client.post(f"{url}/submit", headers=headers).status_code == 200
    before = _rows(Release), _rows(ReleaseEvent), _rows(Evidence)
    _problem(client.post(f"{url}/submit", headers=headers), 409)
    edited = _patch_release(client, release, headers, {"release_notes": "Endret etterpå."})
    assert release.version in _problem(edited, 409)["detail"]
    evidence_id = client.get(url, headers=headers).json["evidence"][0]["id"]
    _problem(client.delete(f"{url}/evidence/{evidence_id}", headers=headers), 409)
    code = seeded[0].code
    _problem(client.post(f"{url}/evidence", data=_evidence_form(code), headers=headers), 409)
    assert (_rows(Release), _rows(ReleaseEvent), _rows(Evidence)) == before


def test_evidence_fields_are_checked(client, draft, seeded) -> None:
    release, headers = draft
    url = f"/api/v1/releases/{release.id}/evidence"
    code = seeded[0].code
    tomorrow = (utcnow().date() + dt.timedelta(days=1)).isoformat()
    today = utcnow().date().isoformat()
    bad_dates = client.post(
        url, data=_evidence_form(code, issued_on=tomorrow, expires_on=today), headers=headers
    )
    _problem(bad_dates, 422)
    assert {"#/issued_on", "#/expires_on"} <= _pointers(bad_dates)
    unknown = client.post(url, data=_evidence_form("NO-SUCH-CODE"), headers=headers)
    _problem(unknown, 422)
    assert _pointers(unknown) == {"#/criterion"}
    not_a_document = client.post(
        url, data=_evidence_form(code, content=b"MZ\x90\x00 an executable"), headers=headers
    )
    _problem(not_a_document, 422)
    assert _pointers(not_a_document) == {"#/file"}
    stranger = client.post(url, data=_evidence_form(code), headers=_bearer(UserFactory()))
    _problem(stranger, 403)
    assert _rows(Evidence) == []
    added = client.post(url, data=_evidence_form(code), headers=headers)
    assert added.status_code == 201
    assert client.delete(f"{url}/{added.json['id']}", headers=headers).status_code == 204
    assert _rows(Evidence) == []


def test_the_diff_names_what_a_release_asks_for_beyond_the_last_certified(
    client, vendor_and_member
) -> None:
    vendor, member = vendor_and_member
    application = ApplicationFactory(vendor=vendor)
    ReleaseFactory(
        application=application,
        version="1.0.0",
        state=S.CERTIFIED,
        certified_at=utcnow(),
        scopes="launch openid patient/Patient.r",
    )
    newer = ReleaseFactory(
        application=application,
        version="1.1.0",
        scopes="launch openid patient/Patient.r patient/Observation.rs",
    )
    diff = client.get(f"/api/v1/releases/{newer.id}/diff", headers=_bearer(member)).json
    assert diff["previous"] == "1.0.0"
    assert diff["added"] == ["patient/Observation.rs"]
    assert diff["widens"] is True


def test_lists_paginate_with_a_cap(client, vendor_and_member) -> None:
    vendor, member = vendor_and_member
    for _ in range(3):
        ApplicationFactory(vendor=vendor)
    headers = _bearer(member)
    url = f"/api/v1/vendors/{vendor.slug}/applications"
    page = client.get(f"{url}?page=2&page_size=2", headers=headers)
    assert page.status_code == 200
    assert len(page.json) == 1
    meta = json.loads(page.headers["X-Pagination"])
    assert meta["total"] == 3
    assert meta["total_pages"] == 2
    assert meta["previous_page"] == 1
    _problem(client.get(f"{url}?page_size=1000", headers=headers), 422)
    _problem(client.get(f"{url}?page=0", headers=headers), 422)


def test_unknown_ids_are_404_even_beyond_the_database_integer(client, draft) -> None:
    _release, headers = draft
    for url in (
        "/api/v1/releases/999999",
        "/api/v1/releases/99999999999999999999",
        "/api/v1/releases/-1",
        "/api/v1/applications/no-such-app",
        "/api/v1/criteria/NO-SUCH",
    ):
        _problem(client.get(url, headers=headers), 404)


def test_without_credentials_the_api_answers_401(client, draft) -> None:
    release, _headers = draft
    for url in (
        f"/api/v1/releases/{release.id}",
        "/api/v1/vendors",
        "/api/v1/review/queue",
        "/api/v1/criteria",
    ):
        response = client.get(url)
        _problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


# --- review ----------------------------------------------------------------------


@pytest.fixture
def submitted(client, draft, seeded):
    release, headers = draft
    _complete(release, seeded)
    assert client.post(f"/api/v1/releases/{release.id}/submit", headers=headers).status_code == 200
    return release, headers


def test_a_vendor_member_is_no_reviewer(client, submitted) -> None:
    release, headers = submitted
    before = _rows(Release), _rows(ReleaseEvent)
    _problem(client.get("/api/v1/review/queue", headers=headers), 403)
    _problem(client.post(f"/api/v1/review/releases/{release.id}/start", headers=headers), 403)
    assert (_rows(Release), _rows(ReleaseEvent)) == before


def test_a_reviewer_never_reviews_their_own_vendor(client, submitted) -> None:
    release, _headers = submitted
    insider = member_of(release.application.vendor)
    MembershipFactory(user=insider, role=Role.REVIEWER, organisation=None)
    headers = _bearer(insider)
    before = _rows(Release), _rows(ReleaseEvent)
    response = client.post(f"/api/v1/review/releases/{release.id}/start", headers=headers)
    assert release.application.vendor.name in _problem(response, 403)["detail"]
    _problem(client.get(f"/api/v1/review/releases/{release.id}", headers=headers), 403)
    assert (_rows(Release), _rows(ReleaseEvent)) == before


def test_checks_and_decisions_follow_the_life_cycle(client, submitted, seeded) -> None:
    release, vendor_headers = submitted
    headers = _bearer(reviewer())
    base = f"/api/v1/review/releases/{release.id}"
    code = seeded[0].code
    # Criteria are checked in review only.
    _problem(client.put(f"{base}/checks/{code}", json={"outcome": "passed"}, headers=headers), 409)
    assert client.post(f"{base}/start", headers=headers).status_code == 200
    _problem(client.post(f"{base}/start", headers=headers), 409)
    failed = client.put(f"{base}/checks/{code}", json={"outcome": "failed"}, headers=headers)
    assert _pointers(failed) == {"#/comment"}
    _problem(client.put(f"{base}/checks/NO-SUCH", json={"outcome": "passed"}, headers=headers), 404)
    bad = client.put(f"{base}/checks/{code}", json={"outcome": "maybe"}, headers=headers)
    assert _pointers(bad) == {"#/outcome"}
    before = _rows(Release), _rows(ReleaseEvent)
    blocked = client.post(f"{base}/certify", json={}, headers=headers)
    assert code in _problem(blocked, 409)["detail"]
    _problem(client.post(f"{base}/reject", json={}, headers=headers), 422)
    _problem(client.post(f"{base}/reject", json={"reason": "   "}, headers=headers), 422)
    assert (_rows(Release), _rows(ReleaseEvent)) == before

    rejected = client.post(f"{base}/reject", json={"reason": "DPIA mangler."}, headers=headers)
    assert rejected.status_code == 200
    assert rejected.json["state"] == "rejected"
    # A rejected release is never certified, suspended or reinstated.
    before = _rows(Release), _rows(ReleaseEvent)
    _problem(client.post(f"{base}/certify", json={}, headers=headers), 409)
    for action in ("suspend", "reinstate", "revoke"):
        _problem(client.post(f"{base}/{action}", json={"reason": "x"}, headers=headers), 409)
    assert (_rows(Release), _rows(ReleaseEvent)) == before
    history = client.get(f"/api/v1/releases/{release.id}/history", headers=vendor_headers).json
    assert history[-1]["reason"] == "DPIA mangler."
    assert history[-1]["actor"]


def test_suspend_reinstate_and_revoke_a_certified_release(client, vendor_and_member) -> None:
    vendor, _member = vendor_and_member
    release = ReleaseFactory(
        application=ApplicationFactory(vendor=vendor), state=S.CERTIFIED, certified_at=utcnow()
    )
    headers = _bearer(reviewer())
    base = f"/api/v1/review/releases/{release.id}"
    suspended = client.post(f"{base}/suspend", json={"reason": "Pen-test utløpt."}, headers=headers)
    assert suspended.json["state"] == "suspended"
    reinstated = client.post(f"{base}/reinstate", json={"reason": "Ny test."}, headers=headers)
    assert reinstated.json["state"] == "certified"
    revoked = client.post(f"{base}/revoke", json={"reason": "Sikkerhetsbrudd."}, headers=headers)
    assert revoked.json["state"] == "revoked"
    before = _rows(Release)
    _problem(client.post(f"{base}/reinstate", json={"reason": "Angrer."}, headers=headers), 409)
    assert _rows(Release) == before


# --- credentials -----------------------------------------------------------------


def test_secrets_only_for_a_secret_client_and_only_for_members(client, vendor_and_member) -> None:
    vendor, member = vendor_and_member
    release = ReleaseFactory(
        application=ApplicationFactory(vendor=vendor), state=S.CERTIFIED, certified_at=utcnow()
    )
    client_row = credentials.ensure_client(release.application, "production")
    url = f"/api/v1/clients/{client_row.client_id}/secrets"
    before = _rows(ClientSecret)
    # A public client (PKCE) has no secret.
    _problem(client.post(url, headers=_bearer(member)), 409)
    release.client_type = "confidential_secret"
    db.session.flush()
    _problem(client.post(url, headers=_bearer(UserFactory())), 403)
    _problem(client.post("/api/v1/clients/no-such-client/secrets", headers=_bearer(member)), 404)
    rotate = client.post(f"{url}/rotate", json={"grace_days": 31}, headers=_bearer(member))
    assert _pointers(rotate) == {"#/grace_days"}
    assert _rows(ClientSecret) == before
    _problem(client.delete(f"{url}/12345", headers=_bearer(member)), 404)


# --- criteria ----------------------------------------------------------------------


CRITERION = {
    "code": "FHIR-R4",
    "title_nb": "FHIR R4",
    "title_en": "FHIR R4",
    "guidance_nb": "Appen bruker FHIR R4.",
    "guidance_en": "The app uses FHIR R4.",
    "evidence_nb": "Testrapport.",
    "evidence_en": "Test report.",
    "mandatory": False,
}


def test_reviewers_manage_criteria_with_if_match(client) -> None:
    headers = _bearer(reviewer())
    vendor_headers = _bearer(member_of(VendorFactory()))
    before = _rows(Criterion)
    _problem(client.post("/api/v1/criteria", json=CRITERION, headers=vendor_headers), 403)
    bad = client.post("/api/v1/criteria", json={**CRITERION, "code": "x y"}, headers=headers)
    assert _pointers(bad) == {"#/code"}
    assert _rows(Criterion) == before

    created = client.post("/api/v1/criteria", json=CRITERION, headers=headers)
    assert created.status_code == 201, created.json
    _problem(client.post("/api/v1/criteria", json=CRITERION, headers=headers), 409)
    url = "/api/v1/criteria/FHIR-R4"
    etag = client.get(url, headers=vendor_headers).headers["ETag"]
    _problem(
        client.patch(url, json={"title_en": "x"}, headers={**vendor_headers, "If-Match": etag}),
        403,
    )
    changed = client.patch(url, json={"mandatory": True}, headers={**headers, "If-Match": etag})
    assert changed.status_code == 200, changed.json
    assert changed.json["mandatory"] is True
    _problem(client.patch(url, json={"title_en": "y"}, headers={**headers, "If-Match": etag}), 412)
    assert client.post(f"{url}/retire", headers=headers).json["retired_at"]
    _problem(client.post(f"{url}/retire", headers=headers), 409)
    active = client.get("/api/v1/criteria", headers=vendor_headers).json
    assert "FHIR-R4" not in [c["code"] for c in active]
    everything = client.get("/api/v1/criteria?retired=true", headers=vendor_headers).json
    assert "FHIR-R4" in [c["code"] for c in everything]


def test_a_nul_character_is_a_4xx_on_every_database(client, draft) -> None:
    # PostgreSQL cannot store or even compare NUL; SQLite can. Neither may answer 500.
    _release, headers = draft
    for url in (
        "/api/v1/applications/news2%00",
        "/api/v1/vendors/a%00b",
        "/api/v1/criteria/WCAG%00",
        "/api/v1/vendors/a%00b/applications",
    ):
        response = client.get(url, headers=headers)
        assert response.status_code in {400, 404}, url
        assert response.mimetype == PROBLEM
    before = _rows(Vendor)
    signed_up = _sign_up(client, headers, name="Nul\x00 AS")
    _problem(signed_up, 422)
    assert _pointers(signed_up) == {"#/name"}
    assert _rows(Vendor) == before


def test_the_certification_body_never_sees_a_draft(client, draft) -> None:
    release, member_headers = draft
    headers = _bearer(reviewer())
    assert client.get(f"/api/v1/releases/{release.id}", headers=member_headers).status_code == 200
    before = _rows(Release), _rows(ReleaseEvent)
    for url in (
        f"/api/v1/releases/{release.id}",
        f"/api/v1/releases/{release.id}/history",
        f"/api/v1/review/releases/{release.id}",
    ):
        _problem(client.get(url, headers=headers), 404)
    _problem(client.post(f"/api/v1/review/releases/{release.id}/start", headers=headers), 404)
    assert (_rows(Release), _rows(ReleaseEvent)) == before
