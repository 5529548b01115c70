"""Releases: drafts, the submission checklist, immutability and the life cycle."""

from __future__ import annotations

import datetime as dt

import pytest

from catalog import releases
from catalog.models import ClientType, Environment, ReleaseState
from catalog.releases import ReleaseInput
from tests.factories.accounts import UserFactory
from tests.factories.catalog import (
    ApplicationFactory,
    EvidenceFactory,
    ReleaseFactory,
    member_of,
)
from torget.db import utcnow
from torget.errors import Conflict, Forbidden, Invalid, NotFound

# Messages are compared in English, the source language.
pytestmark = pytest.mark.usefixtures("english")

S = ReleaseState


@pytest.fixture
def app_and_member(db_session):
    application = ApplicationFactory()
    return application, member_of(application.vendor)


def _complete(release, criteria_list) -> None:
    for criterion in criteria_list:
        if criterion.mandatory:
            EvidenceFactory(release=release, criterion=criterion)


def test_a_draft_needs_a_semantic_version_above_the_latest(app_and_member) -> None:
    application, member = app_and_member
    first = releases.create_draft(
        application, ReleaseInput(version="1.0.0", client_type="public"), by=member
    )
    assert first.state == S.DRAFT
    assert [e.to_state for e in releases.history(first)] == [S.DRAFT]
    for version in ("1.0.0", "0.9.0", "1.0.0-rc.1", "v2", "2.0.0+build"):
        with pytest.raises(Invalid) as caught:
            releases.create_draft(
                application, ReleaseInput(version=version, client_type="public"), by=member
            )
        assert "version" in caught.value.fields
    releases.create_draft(
        application, ReleaseInput(version="1.1.0", client_type="public"), by=member
    )


def test_only_members_make_releases(app_and_member) -> None:
    application, _ = app_and_member
    with pytest.raises(Forbidden):
        releases.create_draft(
            application, ReleaseInput(version="1.0.0", client_type="public"), by=UserFactory()
        )


def test_update_draft_validates_everything_at_once(app_and_member) -> None:
    application, member = app_and_member
    release = releases.create_draft(
        application, ReleaseInput(version="1.0.0", client_type="public"), by=member
    )
    with pytest.raises(Invalid) as caught:
        releases.update_draft(
            release,
            ReleaseInput(
                launch_url="ftp://app.example",
                redirect_uris=["https://app.example/cb#fragment"],
                scopes="patient/Observation.rx",
                launch_modes=["ehr", "telepathy"],
            ),
            by=member,
        )
    fields = caught.value.fields
    assert "launch_url" in fields
    assert "launch_modes" in fields
    assert any(f.startswith("redirect_uris") for f in fields)
    assert any(f.startswith("scopes") for f in fields)
    assert release.launch_url is None
    assert release.redirect_uris == []

    releases.update_draft(
        release,
        ReleaseInput(
            launch_url="https://app.example/launch",
            redirect_uris=["https://app.example/cb"],
            scopes="launch patient/Observation.read",
            launch_modes=["standalone", "ehr", "ehr"],
        ),
        by=member,
    )
    assert release.launch_modes == ["ehr", "standalone"]
    assert release.scope_list == ["launch", "patient/Observation.rs"]


def test_a_stale_edit_is_refused(app_and_member) -> None:
    from torget.errors import PreconditionFailed

    application, member = app_and_member
    release = releases.create_draft(
        application, ReleaseInput(version="1.0.0", client_type="public"), by=member
    )
    seen = release.version_id
    releases.update_draft(
        release, ReleaseInput(release_notes="a"), by=member, expected_version=seen
    )
    with pytest.raises(PreconditionFailed):
        releases.update_draft(
            release, ReleaseInput(release_notes="b"), by=member, expected_version=seen
        )
    assert release.release_notes == "a"


def test_checklist_names_what_is_missing(seeded, db_session) -> None:
    release = ReleaseFactory(release_notes="", launch_url=None)
    gaps = releases.missing(release)
    assert any("launch URL" in g for g in gaps)
    assert any("Release notes" in g for g in gaps)
    mandatory = [c for c in seeded if c.mandatory]
    assert sum("Evidence for" in g for g in gaps) == len(mandatory)

    key_release = ReleaseFactory(client_type=ClientType.BACKEND, launch_modes=["ehr"])
    gaps = releases.missing(key_release)
    assert any("public keys" in g for g in gaps)
    assert any("no launch modes" in g for g in gaps)


def test_expired_evidence_does_not_count(seeded, db_session) -> None:
    release = ReleaseFactory()
    _complete(release, seeded)
    assert releases.missing(release) == []
    release.evidence[0].expires_on = utcnow().date()
    assert len(releases.missing(release)) == 1


def test_submit_once_and_then_the_release_is_frozen(seeded, app_and_member) -> None:
    application, member = app_and_member
    release = ReleaseFactory(application=application)
    with pytest.raises(Invalid) as caught:
        releases.submit(release, by=member)
    assert caught.value.fields["release"]  # the checklist, item by item
    assert release.state == S.DRAFT

    _complete(release, seeded)
    releases.submit(release, by=member)
    assert release.state == S.SUBMITTED
    assert release.submitted_at is not None
    with pytest.raises(Conflict, match="submitted already"):
        releases.submit(release, by=member)
    with pytest.raises(Conflict, match="cannot change"):
        releases.update_draft(release, ReleaseInput(release_notes="changed"), by=member)
    with pytest.raises(Conflict):
        releases.remove_evidence(release, release.evidence[0].id, by=member)
    assert release.release_notes == "Første utgave."


def test_submission_creates_the_sandbox_client(seeded, app_and_member) -> None:
    from catalog import credentials

    application, member = app_and_member
    release = ReleaseFactory(application=application)
    _complete(release, seeded)
    assert credentials.find_client(application, Environment.SANDBOX) is None
    releases.submit(release, by=member)
    client = credentials.find_client(application, Environment.SANDBOX)
    assert client is not None
    assert client.client_id.startswith(application.slug + "-sbx-")
    assert credentials.find_client(application, Environment.PRODUCTION) is None


@pytest.mark.parametrize(
    ("state", "move"),
    [
        (S.DRAFT, "certify"),
        (S.SUBMITTED, "certify"),
        (S.REJECTED, "certify"),
        (S.REJECTED, "start_review"),
        (S.REVOKED, "reinstate"),
        (S.CERTIFIED, "start_review"),
        (S.DRAFT, "suspend"),
        (S.IN_REVIEW, "revoke"),
    ],
)
def test_illegal_transitions_are_refused(db_session, state, move) -> None:
    release = ReleaseFactory(state=state)
    actor = UserFactory()
    kwargs = {"reason": "because"} if move in {"suspend", "reinstate", "revoke"} else {}
    with pytest.raises(Conflict, match="cannot become"):
        getattr(releases, move)(release, by=actor, **kwargs)
    assert release.state == state
    assert releases.history(release) == []


def test_decisions_that_hurt_need_a_reason(db_session) -> None:
    release = ReleaseFactory(state=S.IN_REVIEW)
    with pytest.raises(Invalid):
        releases.reject(release, by=UserFactory(), reason="   ")
    assert release.state == S.IN_REVIEW


def test_the_full_life_cycle_is_recorded(db_session) -> None:
    reviewer = UserFactory()
    release = ReleaseFactory(state=S.SUBMITTED)
    releases.start_review(release, by=reviewer)
    releases.certify(release, by=reviewer)
    releases.suspend(release, by=reviewer, reason="Pen test overdue")
    releases.reinstate(release, by=reviewer, reason="New report received")
    releases.revoke(release, by=reviewer, reason="Vendor left the market")
    events = releases.history(release)
    assert [(e.from_state, e.to_state) for e in events] == [
        (S.SUBMITTED, S.IN_REVIEW),
        (S.IN_REVIEW, S.CERTIFIED),
        (S.CERTIFIED, S.SUSPENDED),
        (S.SUSPENDED, S.CERTIFIED),
        (S.CERTIFIED, S.REVOKED),
    ]
    assert events[2].reason == "Pen test overdue"
    assert events[2].actor_id == reviewer.id
    with pytest.raises(Conflict):
        releases.reinstate(release, by=reviewer, reason="please")


def test_certifying_a_newer_release_supersedes_the_older(db_session) -> None:
    reviewer = UserFactory()
    application = ApplicationFactory()
    old = ReleaseFactory(application=application, version="1.0.0", state=S.IN_REVIEW)
    new = ReleaseFactory(application=application, version="1.1.0", state=S.IN_REVIEW)
    releases.certify(old, by=reviewer)
    releases.certify(new, by=reviewer)
    assert (old.state, new.state) == (S.SUPERSEDED, S.CERTIFIED)
    assert releases.history(old)[-1].actor_id is None  # Torget did it
    assert releases.current_certified(application) == new
    assert releases.launchable_for(application) == [new, old]

    # An older release certified late is superseded at once.
    older = ReleaseFactory(application=application, version="0.9.0", state=S.IN_REVIEW)
    releases.certify(older, by=reviewer)
    assert older.state == S.SUPERSEDED
    assert new.state == S.CERTIFIED

    # Reinstating a suspended old release keeps it superseded.
    releases.suspend(old, by=reviewer, reason="Bug")
    releases.reinstate(old, by=reviewer, reason="Fixed")
    assert old.state == S.SUPERSEDED


def test_diff_against_the_previous_certified_release(db_session) -> None:
    application = ApplicationFactory()
    old = ReleaseFactory(
        application=application,
        version="1.0.0",
        state=S.CERTIFIED,
        scopes="launch patient/Observation.rs",
        launch_modes=["ehr"],
    )
    new = ReleaseFactory(
        application=application,
        version="1.1.0",
        scopes="launch patient/Observation.rs patient/Condition.rs",
        launch_modes=["ehr", "standalone"],
    )
    assert releases.previous_certified(new) == old
    change = releases.diff(old, new)
    assert change.added == ["patient/Condition.rs"]
    assert change.removed == []
    assert change.widens
    assert change.launch_modes_added == ["standalone"]


def test_evidence_rules(seeded, app_and_member) -> None:
    application, member = app_and_member
    release = ReleaseFactory(application=application)
    document = EvidenceFactory.build()  # only its stored-file attributes are used
    today = utcnow().date()
    with pytest.raises(Invalid) as caught:
        releases.add_evidence(
            release,
            seeded[0],
            document,
            filename="x.pdf",
            issued_on=today + dt.timedelta(days=1),
            expires_on=today,
            by=member,
        )
    assert set(caught.value.fields) == {"issued_on", "expires_on"}
    evidence = releases.add_evidence(
        release,
        seeded[0],
        document,
        filename="pentest.pdf",
        issued_on=today,
        expires_on=today + dt.timedelta(days=365),
        by=member,
    )
    assert releases.get_evidence(release, evidence.id) is evidence
    other = EvidenceFactory(criterion=seeded[0])  # another release's
    with pytest.raises(NotFound):
        releases.get_evidence(release, other.id)
    releases.remove_evidence(release, evidence.id, by=member)
    with pytest.raises(NotFound):
        releases.remove_evidence(release, evidence.id, by=member)
    with pytest.raises(NotFound):
        releases.get_evidence(release, evidence.id)


def test_history_is_append_only(db_session) -> None:
    from torget.db import db

    release = ReleaseFactory(state=S.SUBMITTED)
    releases.start_review(release, by=UserFactory())
    db.session.flush()
    event = releases.history(release)[0]
    event.reason = "rewritten"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()


def test_submission_fetches_the_key_set_of_a_key_client(seeded, app_and_member) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from catalog.keys import JwksUnavailable
    from tests.catalog.test_keys import JwksServer, ec_jwk

    application, member = app_and_member
    application.audience = "backend"
    release = ReleaseFactory(
        application=application,
        client_type=ClientType.BACKEND,
        scopes="system/Observation.rs",
        launch_modes=[],
        redirect_uris=[],
        launch_url=None,
    )
    _complete(release, seeded)
    server = JwksServer()
    try:
        down = server.url("/missing.json")  # answers 404
        releases.update_draft(release, ReleaseInput(jwks_url=down), by=member)
        with pytest.raises(JwksUnavailable):
            releases.submit(release, by=member)
        assert release.state == S.DRAFT

        jwks = {"keys": [ec_jwk(ec.generate_private_key(ec.SECP384R1()), "k1")]}
        good = server.serve("/jwks.json", jwks)
        releases.update_draft(release, ReleaseInput(jwks_url=good), by=member)
        releases.submit(release, by=member)
        assert release.state == S.SUBMITTED
        assert server.hits["/jwks.json"] == 1
    finally:
        server.close()
