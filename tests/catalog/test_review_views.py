"""The reviewer console pages: queue, release review, decisions, criteria, vendor verification.

Each refused write is checked twice: the answer the reviewer sees, and the
database left as it was.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from flask import Flask, session
from flask.testing import FlaskClient
from markupsafe import escape

from accounts.models import Role, User
from catalog import credentials, files, labels
from catalog.models import (
    Criterion,
    CriterionCheck,
    Environment,
    Outcome,
    Release,
    ReleaseEvent,
    ReleaseState,
    Vendor,
)
from tests.conftest import csrf_token, login
from tests.factories.accounts import PASSWORD, MembershipFactory, UserFactory
from tests.factories.catalog import (
    ApplicationFactory,
    CriterionFactory,
    EvidenceFactory,
    ReleaseFactory,
    VendorFactory,
    member_of,
    reviewer,
)
from torget.db import db, utcnow

S = ReleaseState


# --- helpers -----------------------------------------------------------------------


def _sign_in(client: FlaskClient, user: User) -> None:
    """Sign in and read the pages in English, the source language of the messages."""
    assert login(client, user.email, PASSWORD).status_code == 303
    client.post(
        "/language", data={"lang": "en", "next": "/", "csrf_token": csrf_token(client, "/")}
    )


def _as_reviewer(client: FlaskClient) -> User:
    person = reviewer()
    _sign_in(client, person)
    return person


def _post(client: FlaskClient, path: str, data: dict[str, str] | None = None) -> object:
    """A form post as the browser sends it: with the session's CSRF token."""
    return client.post(path, data={"csrf_token": csrf_token(client, "/"), **(data or {})})


def _text(response: object) -> str:
    return response.get_data(as_text=True)  # type: ignore[attr-defined]


def _state(release: Release) -> ReleaseState:
    """The state in the database, not in this test's session's memory."""
    return db.session.scalar(sa.select(Release.state).where(Release.id == release.id))


def _events(release: Release) -> list[ReleaseEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(ReleaseEvent)
            .where(ReleaseEvent.release_id == release.id)
            .order_by(ReleaseEvent.id)
        )
    )


def _checks(release: Release) -> list[CriterionCheck]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(CriterionCheck).where(CriterionCheck.release_id == release.id))
    )


def _count(model: type) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _explained(app: Flask, scope_text: str) -> list[tuple[str, str]]:
    """The scopes' plain-language explanations as an English reader gets them."""
    with app.test_request_context():
        session["lang"] = "en"
        return labels.explained_scopes(scope_text)


def _in_review(**fields: object) -> Release:
    return ReleaseFactory(state=S.IN_REVIEW, submitted_at=utcnow() - dt.timedelta(days=1), **fields)


def _pass_everything(client: FlaskClient, release: Release, criteria: list[Criterion]) -> None:
    for criterion in criteria:
        outcome = "passed" if criterion.mandatory else "not_applicable"
        response = _post(
            client,
            f"/review/releases/{release.id}/checks/{criterion.id}",
            {f"check-{criterion.id}-outcome": outcome, f"check-{criterion.id}-comment": "OK"},
        )
        assert response.status_code == 303, _text(response)


# --- the queue and lists -------------------------------------------------------------


def test_queue_is_longest_waiting_first_with_the_waiting_time_in_words(client) -> None:
    now = utcnow()
    recent = ReleaseFactory(
        state=S.SUBMITTED, submitted_at=now - dt.timedelta(hours=2), application__name="Recent"
    )
    oldest = ReleaseFactory(
        state=S.IN_REVIEW, submitted_at=now - dt.timedelta(days=3), application__name="Oldest"
    )
    ReleaseFactory(state=S.DRAFT, application__name="Unfinished")
    ReleaseFactory(state=S.CERTIFIED, submitted_at=now, application__name="Decided")
    _as_reviewer(client)

    response = client.get("/review/")

    page = _text(response)
    assert response.status_code == 200
    assert page.index(f"Oldest {oldest.version}") < page.index(f"Recent {recent.version}")
    assert "3 days" in page
    assert "2 hours" in page
    assert oldest.application.vendor.name in page
    assert "Unfinished" not in page
    assert "Decided" not in page
    assert f'href="/review/releases/{oldest.id}"' in page


def test_an_empty_queue_says_so(client) -> None:
    _as_reviewer(client)
    assert "No release is waiting." in _text(client.get("/review/"))


def test_releases_by_state_find_a_certified_release_to_suspend(client) -> None:
    certified = ReleaseFactory(state=S.CERTIFIED, application__name="Live app")
    ReleaseFactory(state=S.SUSPENDED, application__name="Stopped app")
    _as_reviewer(client)

    page = _text(client.get("/review/releases?state=certified"))
    assert f"Live app {certified.version}" in page
    assert "Stopped app" not in page
    assert "Stopped app" in _text(client.get("/review/releases?state=suspended"))
    assert "Live app" in _text(client.get("/review/releases"))  # certified by default
    for state in ("draft", "nonsense"):
        assert client.get(f"/review/releases?state={state}").status_code == 422


# --- the release page ------------------------------------------------------------------


def test_release_page_shows_everything_submitted_with_explained_scopes(client, app) -> None:
    vendor = VendorFactory(verified_at=utcnow())
    release = ReleaseFactory(
        state=S.SUBMITTED,
        submitted_at=utcnow(),
        application__vendor=vendor,
        data_use_statement="Reads vital signs. Writes nothing.",
        release_notes="First edition.",
    )
    _as_reviewer(client)

    response = client.get(f"/review/releases/{release.id}")

    page = _text(response)
    assert response.status_code == 200
    assert vendor.name in page
    assert "Verified vendor" in page
    assert "Public client (browser app, PKCE)" in page
    assert release.launch_url in page
    assert "https://app.example/callback" in page
    assert "From the journal system (EHR launch)" in page
    assert "Reads vital signs. Writes nothing." in page
    assert "First edition." in page
    assert "R4" in page
    for scope, meaning in _explained(app, release.scopes):
        assert f'<code class="scope-code">{escape(scope)}</code>' in page
        assert str(escape(meaning)) in page
    assert "First release" in page
    # Submitted: the only decision is to start the review.
    assert ">Start review</button>" in page
    assert ">Certify</button>" not in page


def test_the_diff_marks_scopes_and_launch_modes_against_the_previous_certified_release(
    client, app
) -> None:
    application = ApplicationFactory()
    ReleaseFactory(
        application=application,
        version="1.0.0",
        state=S.CERTIFIED,
        certified_at=utcnow(),
        scopes="launch openid patient/Patient.r patient/Condition.rs",
        launch_modes=["ehr"],
    )
    ReleaseFactory(application=application, version="1.1.0", state=S.REJECTED)
    release = ReleaseFactory(
        application=application,
        version="1.2.0",
        state=S.SUBMITTED,
        submitted_at=utcnow(),
        scopes="launch openid patient/Patient.r patient/Observation.rs",
        launch_modes=["ehr", "standalone"],
    )
    _as_reviewer(client)

    page = _text(client.get(f"/review/releases/{release.id}"))

    assert "Compared with release 1.0.0" in page
    assert "First release" not in page
    added = re.findall(r'<li class="scope-added">.*?</li>', page, re.S)
    removed = re.findall(r'<li class="scope-removed">.*?</li>', page, re.S)
    assert any("patient/Observation.rs" in item and "(new)" in item for item in added)
    assert any("patient/Condition.rs" in item and "(removed)" in item for item in removed)
    assert any("standalone launch" in item for item in added)
    assert not any("patient/Patient.r" in item for item in added + removed)
    (_scope, meaning) = _explained(app, "patient/Condition.rs")[0]
    assert str(escape(meaning)) in page  # removed scopes are explained too


def test_drafts_are_not_shown_to_reviewers(client) -> None:
    draft = ReleaseFactory(state=S.DRAFT)
    _as_reviewer(client)
    assert client.get(f"/review/releases/{draft.id}").status_code == 404
    assert client.get("/review/releases/999999").status_code == 404


def test_evidence_downloads_as_an_attachment_for_reviewers_only(client) -> None:
    stored = files.store_document(b"%PDF-1.4\n% a pen-test report\n", "pentest.pdf")
    release = _in_review()
    item = EvidenceFactory(
        release=release,
        sha256=stored.sha256,
        size=stored.size,
        filename="pentest.pdf",
        expires_on=utcnow().date() + dt.timedelta(days=200),
    )
    other = EvidenceFactory()
    outsider = UserFactory()
    _sign_in(client, outsider)
    path = f"/review/releases/{release.id}/evidence/{item.id}"
    assert client.get(path).status_code == 403

    _as_reviewer(client)
    page = _text(client.get(f"/review/releases/{release.id}"))
    assert f'href="{path}"' in page
    assert "pentest.pdf" in page
    download = client.get(path)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "pentest.pdf" in download.headers["Content-Disposition"]
    assert download.data.startswith(b"%PDF-1.4")
    assert client.get(f"/review/releases/{release.id}/evidence/{other.id}").status_code == 404


# --- the checklist ------------------------------------------------------------------------


def test_a_reviewer_starts_the_review_and_records_findings(client, seeded) -> None:
    release = ReleaseFactory(state=S.SUBMITTED, submitted_at=utcnow())
    person = _as_reviewer(client)
    mandatory = next(c for c in seeded if c.mandatory)
    path = f"/review/releases/{release.id}/checks/{mandatory.id}"
    prefix = f"check-{mandatory.id}"

    # Not in review yet: refused, nothing recorded.
    early = _post(client, path, {f"{prefix}-outcome": "passed"})
    assert early.status_code == 409
    assert "while the release is in review" in _text(early)
    assert _checks(release) == []

    started = _post(client, f"/review/releases/{release.id}/start")
    assert started.status_code == 303
    assert started.headers["Location"] == f"/review/releases/{release.id}"
    assert _state(release) == S.IN_REVIEW
    assert _events(release)[-1].actor_id == person.id
    page = _text(client.get(f"/review/releases/{release.id}"))
    assert "The review has started." in page
    assert f"Finding for {mandatory.code}" in page

    recorded = _post(client, path, {f"{prefix}-outcome": "passed", f"{prefix}-comment": "Seen."})
    assert recorded.status_code == 303
    assert recorded.headers["Location"].endswith(f"#criterion-{mandatory.id}")
    (check,) = _checks(release)
    assert (check.outcome, check.comment, check.reviewer_id) == (Outcome.PASSED, "Seen.", person.id)
    assert "Seen." in _text(client.get(f"/review/releases/{release.id}"))


@pytest.mark.parametrize(
    ("outcome", "comment", "status", "message"),
    [
        ("failed", "", 422, "Say what is missing"),
        ("not_applicable", "n/a", 422, "A mandatory criterion always applies."),
        ("maybe", "", 422, "Not a valid choice"),
        (None, "", 422, "This field is required."),
    ],
)
def test_invalid_findings_are_refused_and_recorded_nowhere(
    client, seeded, outcome, comment, status, message
) -> None:
    release = _in_review()
    _as_reviewer(client)
    mandatory = next(c for c in seeded if c.mandatory)
    prefix = f"check-{mandatory.id}"
    data = {f"{prefix}-comment": comment}
    if outcome is not None:
        data[f"{prefix}-outcome"] = outcome

    response = _post(client, f"/review/releases/{release.id}/checks/{mandatory.id}", data)

    assert response.status_code == status
    page = _text(response)
    assert message in page
    assert 'role="alert"' in page
    assert _checks(release) == []


def test_a_finding_on_an_unknown_criterion_is_404(client) -> None:
    release = _in_review()
    _as_reviewer(client)
    response = _post(
        client, f"/review/releases/{release.id}/checks/999999", {"check-999999-outcome": "passed"}
    )
    assert response.status_code == 404


# --- decisions ----------------------------------------------------------------------------


def test_certify_is_refused_while_a_mandatory_criterion_is_unresolved(client, seeded) -> None:
    release = _in_review()
    _as_reviewer(client)
    before = len(_events(release))

    response = _post(client, f"/review/releases/{release.id}/certify", {"certify-comment": "Go"})

    assert response.status_code == 409
    page = _text(response)
    assert "Every mandatory criterion must pass" in page
    for criterion in (c for c in seeded if c.mandatory):
        assert criterion.code in page
    assert _state(release) == S.IN_REVIEW
    assert len(_events(release)) == before
    assert credentials.find_client(release.application, Environment.PRODUCTION) is None


def test_certify_after_every_criterion_passed_gives_the_production_client(client, seeded) -> None:
    release = _in_review()
    person = _as_reviewer(client)
    _pass_everything(client, release, seeded)

    response = _post(
        client, f"/review/releases/{release.id}/certify", {"certify-comment": "All documented."}
    )

    assert response.status_code == 303
    assert _state(release) == S.CERTIFIED
    event = _events(release)[-1]
    assert (event.to_state, event.actor_id, event.reason) == (
        S.CERTIFIED,
        person.id,
        "All documented.",
    )
    assert credentials.find_client(release.application, Environment.PRODUCTION) is not None
    page = _text(client.get(f"/review/releases/{release.id}"))
    assert "The release is certified." in page
    assert ">Suspend</button>" in page
    assert ">Revoke</button>" in page


def test_reject_needs_a_reason_and_shows_it_in_the_history(client) -> None:
    release = _in_review()
    _as_reviewer(client)
    before = len(_events(release))

    for reason in ("", "   "):
        refused = _post(client, f"/review/releases/{release.id}/reject", {"reject-reason": reason})
        assert refused.status_code == 422
        page = _text(refused)
        assert "Give a reason: the vendor reads it." in page
        assert 'aria-invalid="true"' in page
        assert _state(release) == S.IN_REVIEW
        assert len(_events(release)) == before

    reason = "The DPIA does not cover the write access to Observation."
    response = _post(client, f"/review/releases/{release.id}/reject", {"reject-reason": reason})
    assert response.status_code == 303
    assert _state(release) == S.REJECTED
    history = _text(client.get(f"/review/releases/{release.id}")).split('id="history"')[1]
    assert reason in history
    assert "Rejected" in history


def test_certifying_a_rejected_release_is_refused(client, seeded) -> None:
    release = ReleaseFactory(state=S.REJECTED, submitted_at=utcnow())
    _as_reviewer(client)
    before = len(_events(release))

    page_before = _text(client.get(f"/review/releases/{release.id}"))
    assert ">Certify</button>" not in page_before
    assert "No decision is left to take" in page_before
    response = _post(client, f"/review/releases/{release.id}/certify")

    assert response.status_code == 409
    assert "A release that is rejected cannot become certified." in _text(response)
    assert _state(release) == S.REJECTED
    assert len(_events(release)) == before
    assert credentials.find_client(release.application, Environment.PRODUCTION) is None


def test_starting_a_review_twice_is_refused(client) -> None:
    release = _in_review()
    _as_reviewer(client)
    response = _post(client, f"/review/releases/{release.id}/start")
    assert response.status_code == 409
    assert "cannot become in review" in _text(response)
    assert _state(release) == S.IN_REVIEW


def test_suspend_reinstate_and_revoke_a_certified_release(client) -> None:
    release = ReleaseFactory(state=S.CERTIFIED, certified_at=utcnow(), submitted_at=utcnow())
    _as_reviewer(client)
    base = f"/review/releases/{release.id}"

    assert _post(client, f"{base}/suspend", {"suspend-reason": ""}).status_code == 422
    assert _state(release) == S.CERTIFIED
    assert _post(client, f"{base}/reinstate", {"reinstate-reason": "x"}).status_code == 409
    assert _state(release) == S.CERTIFIED

    suspended = _post(client, f"{base}/suspend", {"suspend-reason": "Pen test expired."})
    assert suspended.status_code == 303
    assert _state(release) == S.SUSPENDED
    page = _text(client.get(base))
    assert ">Reinstate</button>" in page
    assert ">Suspend</button>" not in page
    assert "Pen test expired." in page

    reinstated = _post(client, f"{base}/reinstate", {"reinstate-reason": "New pen test."})
    assert reinstated.status_code == 303
    assert _state(release) == S.CERTIFIED

    # Revoking is final: the box must be ticked, and a reason given.
    unconfirmed = _post(client, f"{base}/revoke", {"revoke-reason": "Data leak."})
    assert unconfirmed.status_code == 422
    assert "Tick the box to confirm" in _text(unconfirmed)
    assert _state(release) == S.CERTIFIED
    no_reason = _post(client, f"{base}/revoke", {"revoke-reason": "", "revoke-confirm": "y"})
    assert no_reason.status_code == 422
    assert _state(release) == S.CERTIFIED

    revoked = _post(
        client, f"{base}/revoke", {"revoke-reason": "Data leak.", "revoke-confirm": "y"}
    )
    assert revoked.status_code == 303
    assert _state(release) == S.REVOKED
    assert [e.to_state for e in _events(release)][-3:] == [S.SUSPENDED, S.CERTIFIED, S.REVOKED]
    again = _post(client, f"{base}/reinstate", {"reinstate-reason": "Oops."})
    assert again.status_code == 409
    assert _state(release) == S.REVOKED


def test_a_reviewer_from_the_vendor_sees_the_release_read_only_and_decides_nothing(
    client, seeded
) -> None:
    release = _in_review()
    conflicted = reviewer()
    MembershipFactory(
        user=conflicted,
        role=Role.VENDOR_MEMBER,
        organisation=release.application.vendor.organisation,
    )
    _sign_in(client, conflicted)
    before = len(_events(release))

    page = _text(client.get(f"/review/releases/{release.id}"))
    assert "you see this release read-only" in page
    assert "<button" not in page.split('id="scopes"')[1].split('id="history"')[0]

    criterion = seeded[0]
    actions = {
        f"checks/{criterion.id}": {f"check-{criterion.id}-outcome": "passed"},
        "start": {},
        "certify": {},
        "reject": {"reject-reason": "Not good."},
        "suspend": {"suspend-reason": "Stop."},
        "reinstate": {"reinstate-reason": "Go."},
        "revoke": {"revoke-reason": "End.", "revoke-confirm": "y"},
    }
    for action, data in actions.items():
        response = _post(client, f"/review/releases/{release.id}/{action}", data)
        assert response.status_code == 403, action
        assert "cannot review its releases" in _text(response)
    assert _state(release) == S.IN_REVIEW
    assert len(_events(release)) == before
    assert _checks(release) == []


# --- who may use the console ---------------------------------------------------------------


def _console_pages(release: Release, criterion: Criterion, evidence_id: int) -> list[str]:
    return [
        "/review/",
        "/review/releases",
        "/review/releases?state=suspended",
        f"/review/releases/{release.id}",
        f"/review/releases/{release.id}/evidence/{evidence_id}",
        "/review/criteria",
        "/review/criteria/new",
        f"/review/criteria/{criterion.id}/edit",
    ]


def _console_actions(release: Release, criterion: Criterion) -> list[str]:
    return [
        f"/review/releases/{release.id}/start",
        f"/review/releases/{release.id}/checks/{criterion.id}",
        f"/review/releases/{release.id}/certify",
        f"/review/releases/{release.id}/reject",
        f"/review/releases/{release.id}/suspend",
        f"/review/releases/{release.id}/reinstate",
        f"/review/releases/{release.id}/revoke",
        "/review/criteria/new",
        f"/review/criteria/{criterion.id}/edit",
        f"/review/criteria/{criterion.id}/retire",
    ]


@pytest.mark.parametrize("role", [None, Role.VENDOR_MEMBER, Role.OPERATOR, Role.MUNICIPAL_ADMIN])
def test_non_reviewers_are_refused_on_every_console_page(client, role) -> None:
    release = ReleaseFactory(state=S.SUBMITTED, submitted_at=utcnow())
    criterion = CriterionFactory()
    evidence = EvidenceFactory(release=release, criterion=criterion)
    user = UserFactory()
    if role == Role.VENDOR_MEMBER:
        MembershipFactory(
            user=user, role=role, organisation=release.application.vendor.organisation
        )
    elif role == Role.MUNICIPAL_ADMIN:
        from tests.factories.marketplace import TenantFactory

        MembershipFactory(user=user, role=role, organisation=TenantFactory().organisation)
    elif role is not None:
        MembershipFactory(user=user, role=role, organisation=None)
    _sign_in(client, user)
    criteria_before = _count(Criterion)

    for path in _console_pages(release, criterion, evidence.id):
        assert client.get(path).status_code == 403, path
    for path in _console_actions(release, criterion):
        assert _post(client, path, {"reject-reason": "x"}).status_code == 403, path
    assert _state(release) == S.SUBMITTED
    assert _count(Criterion) == criteria_before
    db.session.refresh(criterion)
    assert criterion.retired_at is None


def test_signed_out_visitors_are_sent_to_sign_in(client) -> None:
    release = ReleaseFactory(state=S.SUBMITTED, submitted_at=utcnow())
    for path in ("/review/", f"/review/releases/{release.id}", "/review/criteria"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    assert client.post(f"/review/releases/{release.id}/start").status_code in {400, 401}
    assert _state(release) == S.SUBMITTED


def test_a_post_without_csrf_token_is_400_and_changes_nothing(client) -> None:
    release = ReleaseFactory(state=S.SUBMITTED, submitted_at=utcnow())
    _as_reviewer(client)
    criteria_before = _count(Criterion)

    for data in ({}, {"csrf_token": "forged"}):
        response = client.post(f"/review/releases/{release.id}/start", data=data)
        assert response.status_code == 400
        assert "did not come from this site" in _text(response)
    refused = client.post(
        "/review/criteria/new",
        data={"code": "NEW-1", "title_nb": "x", "title_en": "x", "guidance_nb": "x"},
    )
    assert refused.status_code == 400

    assert _state(release) == S.SUBMITTED
    assert _count(Criterion) == criteria_before


# --- criteria ---------------------------------------------------------------------------------


def _criterion_data(**overrides: str) -> dict[str, str]:
    data = {
        "code": "UU-APP",
        "title_nb": "Universell utforming av appen",
        "title_en": "Universal design of the app",
        "guidance_nb": "Appen følger WCAG 2.1 AA.",
        "guidance_en": "The app meets WCAG 2.1 AA.",
        "evidence_nb": "En WCAG-rapport.",
        "evidence_en": "A WCAG report.",
        "mandatory": "y",
        "position": "45",
    }
    data.update(overrides)
    return data


def _criterion(code: str) -> Criterion | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Criterion).where(Criterion.code == code))


def test_reviewers_create_a_criterion(client) -> None:
    _as_reviewer(client)
    form = _text(client.get("/review/criteria/new"))
    assert '<label for="title_en">Title in English</label>' in form

    response = _post(client, "/review/criteria/new", _criterion_data(code="uu-app"))

    assert response.status_code == 303
    created = _criterion("UU-APP")
    assert created is not None
    assert (created.title_en, created.mandatory, created.position) == (
        "Universal design of the app",
        True,
        45,
    )
    page = _text(client.get("/review/criteria"))
    assert "UU-APP" in page
    assert "Universal design of the app" in page


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"code": "1 bad code"}, "code", "A code is 2 to 32 capital letters"),
        ({"title_en": ""}, "title_en", "This field is required."),
        ({"title_nb": "x" * 201}, "title_nb", "At most 200 characters."),
        ({"position": "many"}, "position", "Not a valid integer value."),
        ({"position": "-1"}, "position", "Number must be between"),
    ],
)
def test_invalid_criteria_are_refused_and_nothing_is_written(
    client, overrides, field, message
) -> None:
    _as_reviewer(client)
    before = _count(Criterion)

    response = _post(client, "/review/criteria/new", _criterion_data(**overrides))

    assert response.status_code == 422
    page = _text(response)
    assert message in page
    assert f'id="{field}-error"' in page
    assert _count(Criterion) == before


def test_a_duplicate_code_is_a_conflict(client) -> None:
    CriterionFactory(code="UU-APP")
    _as_reviewer(client)
    before = _count(Criterion)
    response = _post(client, "/review/criteria/new", _criterion_data(code="UU-APP"))
    assert response.status_code == 409
    assert "Another criterion has the code UU-APP." in _text(response)
    assert _count(Criterion) == before


def test_reviewers_edit_a_criterion_and_a_concurrent_edit_is_refused(client) -> None:
    criterion = CriterionFactory(code="PEN-TEST", title_en="Pen test")
    _as_reviewer(client)
    path = f"/review/criteria/{criterion.id}/edit"
    form = _text(client.get(path))
    loaded = re.search(r'name="version_id" type="hidden" value="(\d+)"', form)
    assert loaded, form
    version = loaded.group(1)
    assert "Pen test" in form

    saved = _post(client, path, _criterion_data(title_en="Penetration test", version_id=version))
    assert saved.status_code == 303
    assert _criterion("PEN-TEST").title_en == "Penetration test"

    # A second reviewer's form, loaded before that save, still holds the old version.
    stale = _post(client, path, _criterion_data(title_en="Pentest", version_id=version))
    assert stale.status_code == 412
    assert "Someone else changed this since you loaded it." in _text(stale)
    assert _criterion("PEN-TEST").title_en == "Penetration test"

    missing = _post(client, path, _criterion_data(title_en="Pentest"))
    assert missing.status_code == 422
    invalid = _post(
        client, path, _criterion_data(title_en="", version_id=str(criterion.version_id))
    )
    assert invalid.status_code == 422
    assert _criterion("PEN-TEST").title_en == "Penetration test"
    assert client.get("/review/criteria/999999/edit").status_code == 404


def test_reviewers_retire_a_criterion_once(client) -> None:
    criterion = CriterionFactory(code="OLD-RULE")
    _as_reviewer(client)

    retired = _post(client, f"/review/criteria/{criterion.id}/retire")
    assert retired.status_code == 303
    assert _criterion("OLD-RULE").retired_at is not None
    page = _text(client.get("/review/criteria"))
    assert "Retired" in page
    assert "The criterion OLD-RULE is retired." in page

    again = _post(client, f"/review/criteria/{criterion.id}/retire")
    assert again.status_code == 409
    assert "The criterion is retired already." in _text(again)


# --- vendors (operators) ----------------------------------------------------------------------


def _operator() -> User:
    user = UserFactory()
    MembershipFactory(user=user, role=Role.OPERATOR, organisation=None)
    return user


def _verified_at(vendor: Vendor) -> dt.datetime | None:
    return db.session.scalar(sa.select(Vendor.verified_at).where(Vendor.id == vendor.id))


def test_an_operator_verifies_a_vendor(client) -> None:
    vendor = VendorFactory()
    verified = VendorFactory(verified_at=utcnow())
    operator = _operator()
    _sign_in(client, operator)

    page = _text(client.get("/review/vendors"))
    assert vendor.name in page
    assert vendor.contact_email in page
    assert vendor.security_email in page
    assert "Verify</button>" not in page  # the vendor's name is part of the button's name
    assert f'Verify<span class="visually-hidden"> {vendor.name}</span>' in page
    assert f'Verify<span class="visually-hidden"> {verified.name}</span>' not in page

    response = _post(client, f"/review/vendors/{vendor.slug}/verify")
    assert response.status_code == 303
    assert _verified_at(vendor) is not None
    db.session.refresh(vendor)
    assert vendor.verified_by_id == operator.id
    assert f"{vendor.name} is verified." in _text(client.get("/review/vendors"))

    again = _post(client, f"/review/vendors/{vendor.slug}/verify")
    assert again.status_code == 409
    assert "The vendor is verified already." in _text(again)
    assert _post(client, "/review/vendors/no-such-vendor/verify").status_code == 404


@pytest.mark.parametrize("role", [None, Role.REVIEWER, Role.VENDOR_MEMBER])
def test_only_operators_verify_vendors(client, role) -> None:
    vendor = VendorFactory()
    if role == Role.REVIEWER:
        user = reviewer()
    elif role == Role.VENDOR_MEMBER:
        user = member_of(vendor)
    else:
        user = UserFactory()
    _sign_in(client, user)

    assert client.get("/review/vendors").status_code == 403
    assert _post(client, f"/review/vendors/{vendor.slug}/verify").status_code == 403
    assert _verified_at(vendor) is None


def test_the_console_menu_links_the_vendor_list_for_operators_who_review(client) -> None:
    person = reviewer()
    MembershipFactory(user=person, role=Role.OPERATOR, organisation=None)
    _sign_in(client, person)
    assert 'href="/review/vendors"' in _text(client.get("/review/"))


def test_the_console_reads_in_bokmal_by_default(client) -> None:
    release = ReleaseFactory(state=S.SUBMITTED, submitted_at=utcnow() - dt.timedelta(days=3))
    assert login(client, reviewer().email, PASSWORD).status_code == 303

    queue = _text(client.get("/review/"))
    page = client.get(f"/review/releases/{release.id}")

    assert '<html lang="nb">' in queue
    assert "3 døgn" in queue  # CLDR's bokmål for "3 days"
    assert page.status_code == 200
