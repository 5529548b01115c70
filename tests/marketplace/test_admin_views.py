"""The municipal admin's pages: the list, enabling, one enablement, re-consent, disable.

Each refused write is checked twice: the answer the admin sees, and the
database left as it was.
"""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from accounts.models import OrganisationKind, Role, User
from catalog import credentials, releases
from catalog.models import Audience, Environment, Release, ReleaseState
from marketplace import enablements, terms
from marketplace.enablements import Access
from marketplace.models import (
    Enablement,
    EnablementEvent,
    EnablementState,
    Tenant,
    TermsAcceptance,
)
from tests.conftest import csrf_token, login
from tests.factories.accounts import PASSWORD, MembershipFactory, OrganisationFactory
from tests.factories.catalog import ReleaseFactory, reviewer
from tests.factories.marketplace import TenantFactory, admin_of, clinician_of
from torget.db import db

S = ReleaseState
REGISTERED = "launch openid fhirUser patient/Observation.rs patient/Patient.r"
SUBSET = ["launch", "patient/Observation.rs"]


# --- helpers -----------------------------------------------------------------------


def _sign_in(client: FlaskClient, user: User) -> None:
    """Sign in and read the pages in English, the source language of the messages."""
    assert login(client, user.email, PASSWORD).status_code == 303
    client.post(
        "/language", data={"lang": "en", "next": "/", "csrf_token": csrf_token(client, "/")}
    )


def _post(client: FlaskClient, path: str, data: dict[str, object] | None = None) -> object:
    """A form post as the browser sends it: with the session's CSRF token."""
    return client.post(path, data={"csrf_token": csrf_token(client, "/"), **(data or {})})


def _text(response: object) -> str:
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


def _ticked(page: str, name: str) -> set[str]:
    """The values of the checked inputs called `name` on the page."""
    ticked = set()
    for tag in re.findall(r"<input[^>]*>", page):
        if f'name="{name}"' in tag and re.search(r"\schecked[\s>]", tag):
            ticked.add(re.search(r'value="([^"]*)"', tag).group(1))
    return ticked


def _offered(page: str, name: str) -> list[str]:
    return [
        re.search(r'value="([^"]*)"', tag).group(1)
        for tag in re.findall(r"<input[^>]*>", page)
        if f'name="{name}"' in tag
    ]


def _accepting(**fields: object) -> dict[str, object]:
    """An enable form as sent with the terms accepted."""
    return {"roles": ["clinician"], "terms_version": terms.VERSION, "terms": "y", **fields}


def _snapshot() -> list[tuple[str, ...]]:
    """Every enablement, event and acceptance as stored now, for before/after comparisons."""
    db.session.expire_all()
    rows = []
    for model in (Enablement, EnablementEvent, TermsAcceptance):
        columns = sa.inspect(model).columns
        rows += sorted(
            (model.__name__, *(str(getattr(row, c.key)) for c in columns))
            for row in db.session.scalars(sa.select(model))
        )
    return rows


def _stored(enablement: Enablement) -> Enablement:
    db.session.expire_all()
    return db.session.get(Enablement, enablement.id)


@pytest.fixture
def oslo(db_session) -> tuple[Tenant, User]:
    tenant = TenantFactory(organisation__slug="oslo", organisation__name="Oslo kommune")
    return tenant, admin_of(tenant)


@pytest.fixture
def certified(db_session) -> Release:
    release = ReleaseFactory(
        state=S.CERTIFIED,
        version="1.0.0",
        scopes=REGISTERED,
        application__slug="news2-test",
        application__name="NEWS2 Test",
    )
    credentials.ensure_client(release.application, Environment.PRODUCTION)
    return release


def _enable(tenant: Tenant, admin: User, release: Release, scopes=SUBSET) -> Enablement:
    enablement = enablements.enable(
        tenant,
        release.application,
        Access(scopes=list(scopes), roles=["clinician"]),
        terms_version=terms.VERSION,
        by=admin,
    )
    db.session.flush()  # the pages read through a session of their own
    return enablement


def _newer(release: Release, version: str, scopes: str, **fields: object) -> Release:
    newer = ReleaseFactory(
        application=release.application,
        version=version,
        state=S.IN_REVIEW,
        scopes=scopes,
        **fields,
    )
    releases.certify(newer, by=reviewer())
    db.session.flush()
    return newer


def _client_id(release: Release) -> str:
    return credentials.find_client(release.application, Environment.PRODUCTION).client_id


@pytest.fixture
def signed_in(client, oslo) -> FlaskClient:
    _sign_in(client, oslo[1])
    return client


# --- the list -------------------------------------------------------------------------


def test_the_list_shows_active_first_with_new_release_stopped_and_disabled_marks(
    signed_in, oslo, certified
) -> None:
    tenant, admin = oslo
    _enable(tenant, admin, certified)
    _newer(certified, "1.1.0", REGISTERED + " patient/Condition.rs")
    stopped = ReleaseFactory(
        state=S.CERTIFIED, scopes=REGISTERED, application__name="Medisinliste", version="2.0.0"
    )
    _enable(tenant, admin, stopped)
    releases.suspend(stopped, by=reviewer(), reason="Penetrasjonstesten er for gammel.")
    off = ReleaseFactory(state=S.CERTIFIED, scopes=REGISTERED, application__name="Avslått")
    enablements.disable(
        _enable(tenant, admin, off), exit_step="data_deleted", confirmed_by="Leverandør", by=admin
    )
    db.session.flush()

    response = signed_in.get("/m/oslo/apps")

    page = _text(response)
    assert response.status_code == 200
    assert page.index("Medisinliste") < page.index("NEWS2 Test") < page.index("Avslått")
    assert "New release available: 1.1.0" in page
    assert "It asks for 1 more scope: approve it first." in page
    assert "Stopped" in page
    assert "release 2.0.0 is suspended." in page
    assert "Penetrasjonstesten er for gammel." in page
    assert "Disabled" in page
    # The pinned release with its state, and how much was approved.
    assert re.search(r"1\.0\.0\s*<span class=\"badge state-superseded\">Superseded", page)
    assert re.search(r'<td class="number">2</td>', page)
    assert "Health personnel (clinicians)" in page


def test_a_release_that_asks_for_nothing_more_is_marked_one_click(
    signed_in, oslo, certified
) -> None:
    _enable(*oslo, certified)
    _newer(certified, "1.0.1", "launch openid patient/Observation.rs")

    page = _text(signed_in.get("/m/oslo/apps"))

    assert "New release available: 1.0.1" in page
    assert "It asks for nothing more: move with one click." in page


def test_an_empty_list_says_so_and_the_municipality_page_links_to_it(signed_in, oslo) -> None:
    page = _text(signed_in.get("/m/oslo/apps"))
    assert "Oslo kommune has not enabled any app yet." in page
    assert 'href="/m/oslo/apps"' in _text(signed_in.get("/m/oslo/"))


# --- enabling ----------------------------------------------------------------------------


def test_the_enable_page_explains_every_scope_and_ticks_none_in_advance(
    signed_in, certified
) -> None:
    response = signed_in.get("/m/oslo/apps/news2-test/enable")

    page = _text(response)
    assert response.status_code == 200
    assert _offered(page, "scopes") == REGISTERED.split()
    assert _ticked(page, "scopes") == set()  # least privilege: nothing approved unread
    assert "Read and search observations (Observation) of the patient in context" in page
    assert _offered(page, "roles") == ["clinician", "patient"]
    assert _ticked(page, "roles") == {"clinician"}
    assert f'name="terms_version" type="hidden" value="{terms.VERSION}"' in page
    assert f"version {terms.VERSION}, on behalf of the municipality" in page
    assert "<details" in page
    assert "Vilkår for bruk av apper på Torget" in page
    assert "Free or open source" in page  # the price line


def test_a_backend_app_is_enabled_without_roles(signed_in, oslo) -> None:
    release = ReleaseFactory(
        state=S.CERTIFIED,
        scopes="system/Observation.rs",
        application__slug="stats",
        application__audience=Audience.BACKEND,
    )
    page = _text(signed_in.get("/m/oslo/apps/stats/enable"))
    assert _offered(page, "roles") == []

    response = _post(
        signed_in,
        "/m/oslo/apps/stats/enable",
        {"scopes": ["system/Observation.rs"], "terms_version": terms.VERSION, "terms": "y"},
    )

    assert response.status_code == 303
    enablement = enablements.get(oslo[0], release.application)
    assert (enablement.scope_list, enablement.roles) == (["system/Observation.rs"], [])


def test_an_admin_enables_a_subset_and_accepts_the_terms(signed_in, oslo, certified) -> None:
    tenant, admin = oslo

    response = _post(
        signed_in,
        "/m/oslo/apps/news2-test/enable",
        {"scopes": SUBSET, "roles": ["clinician"], "terms_version": terms.VERSION, "terms": "y"},
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/m/oslo/apps/news2-test"
    enablement = enablements.get(tenant, certified.application)
    assert enablement.scope_list == SUBSET
    assert enablement.roles == ["clinician"]
    (accepted,) = db.session.scalars(sa.select(TermsAcceptance)).all()
    assert (accepted.terms_version, accepted.accepted_by_id) == (terms.VERSION, admin.id)
    page = _text(signed_in.get("/m/oslo/apps/news2-test"))
    assert "NEWS2 Test is enabled for Oslo kommune on release 1.0.0." in page
    assert "Enabled, terms accepted" in page
    assert enablements.launch_policy(_client_id(certified), "oslo").scopes == SUBSET


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        (
            {"scopes": SUBSET, "roles": ["clinician"], "terms_version": terms.VERSION},
            422,
            f"Read and accept the terms (version {terms.VERSION}) first.",
        ),
        (
            {
                "scopes": SUBSET,
                "roles": ["clinician"],
                "terms_version": "2025-01",
                "terms": "y",
            },
            422,
            f"Read and accept the terms (version {terms.VERSION}) first.",
        ),
        (
            {
                "scopes": [*SUBSET, "patient/Condition.rs"],
                "roles": ["clinician"],
                "terms_version": terms.VERSION,
                "terms": "y",
            },
            422,
            "patient/Condition.rs is not among the scopes release 1.0.0 registered.",
        ),
        (
            {"roles": ["clinician"], "terms_version": terms.VERSION, "terms": "y"},
            422,
            "Approve at least one scope.",
        ),
        (
            {"scopes": SUBSET, "terms_version": terms.VERSION, "terms": "y"},
            422,
            "Choose who may launch the app.",
        ),
        (
            {
                "scopes": SUBSET,
                "roles": ["operator"],
                "terms_version": terms.VERSION,
                "terms": "y",
            },
            422,
            "operator cannot launch apps.",
        ),
    ],
)
def test_a_refused_enable_shows_the_form_again_and_writes_nothing(
    signed_in, certified, form, status, message
) -> None:
    before = _snapshot()

    response = _post(signed_in, "/m/oslo/apps/news2-test/enable", form)

    page = _text(response)
    assert response.status_code == status
    assert "Nothing was changed." in page
    assert message in page
    # What was ticked stays ticked, so the admin corrects rather than starts over.
    assert _ticked(page, "scopes") == set(form.get("scopes", [])) & set(REGISTERED.split())
    assert _snapshot() == before == []


def test_enabling_twice_is_a_conflict(signed_in, oslo, certified) -> None:
    _enable(*oslo, certified)
    page = _text(signed_in.get("/m/oslo/apps/news2-test/enable"))
    assert "Oslo kommune uses NEWS2 Test already." in page
    before = _snapshot()

    response = _post(
        signed_in,
        "/m/oslo/apps/news2-test/enable",
        {
            "scopes": ["launch"],
            "roles": ["clinician"],
            "terms_version": terms.VERSION,
            "terms": "y",
        },
    )

    assert response.status_code == 409
    assert "Oslo kommune uses NEWS2 Test already." in _text(response)
    assert _snapshot() == before


@pytest.mark.parametrize("state", [S.DRAFT, S.IN_REVIEW, S.SUSPENDED, S.REVOKED, S.REJECTED])
def test_an_app_without_a_certified_release_cannot_be_enabled(signed_in, state) -> None:
    release = ReleaseFactory(state=state, scopes=REGISTERED, application__slug="not-yet")
    message = f"{release.application.name} has no certified release: it cannot be enabled."

    shown = signed_in.get("/m/oslo/apps/not-yet/enable")
    sent = _post(
        signed_in,
        "/m/oslo/apps/not-yet/enable",
        {
            "scopes": ["launch"],
            "roles": ["clinician"],
            "terms_version": terms.VERSION,
            "terms": "y",
        },
    )

    for response in (shown, sent):
        assert response.status_code == 409
        assert message in _text(response)
    assert _snapshot() == []


def test_a_disabled_app_is_enabled_again_with_a_new_approval(signed_in, oslo, certified) -> None:
    tenant, admin = oslo
    enablement = _enable(tenant, admin, certified)
    enablements.disable(enablement, exit_step="no_data_held", confirmed_by="Kari", by=admin)
    db.session.flush()
    page = _text(signed_in.get("/m/oslo/apps/news2-test"))
    assert "Enable it again" in page
    assert "Oslo kommune disabled NEWS2 Test earlier." in _text(
        signed_in.get("/m/oslo/apps/news2-test/enable")
    )

    response = _post(
        signed_in,
        "/m/oslo/apps/news2-test/enable",
        {
            "scopes": ["launch"],
            "roles": ["clinician"],
            "terms_version": terms.VERSION,
            "terms": "y",
        },
    )

    assert response.status_code == 303
    assert _stored(enablement).state == EnablementState.ACTIVE
    assert _stored(enablement).scope_list == ["launch"]


# --- who may ------------------------------------------------------------------------------


def test_an_admin_of_bergen_gets_403_on_oslo_and_nothing_changes(client, oslo, certified) -> None:
    enablement = _enable(*oslo, certified)
    bergen = TenantFactory(organisation__slug="bergen")
    _sign_in(client, admin_of(bergen))
    before = _snapshot()
    version = str(enablement.version_id)

    answers = [
        client.get("/m/oslo/apps"),
        client.get("/m/oslo/apps/news2-test"),
        client.get("/m/oslo/apps/news2-test/enable"),
        _post(
            client,
            "/m/oslo/apps/news2-test/enable",
            {"scopes": ["launch"], "roles": ["clinician"], "terms": "y"},
        ),
        _post(
            client,
            "/m/oslo/apps/news2-test/access",
            {"access-scopes": ["launch"], "access-roles": ["clinician"]}
            | {"access-version_id": version},
        ),
        _post(
            client,
            "/m/oslo/apps/news2-test/disable",
            {
                "disable-version_id": version,
                "disable-exit_step": "data_deleted",
                "disable-confirmed_by": "Noen",
                "disable-confirm": "y",
            },
        ),
    ]

    assert [a.status_code for a in answers] == [403] * 6
    assert _snapshot() == before


def test_a_clinician_gets_403(client, oslo, certified) -> None:
    _enable(*oslo, certified)
    _sign_in(client, clinician_of(oslo[0]))
    before = _snapshot()

    assert client.get("/m/oslo/apps").status_code == 403
    assert client.get("/m/oslo/apps/news2-test").status_code == 403
    response = _post(
        client,
        "/m/oslo/apps/news2-test/enable",
        {"scopes": ["launch"], "roles": ["clinician"], "terms": "y"},
    )
    assert response.status_code == 403
    assert _snapshot() == before


def test_a_visitor_is_sent_to_sign_in(client, oslo) -> None:
    response = client.get("/m/oslo/apps")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_unknown_apps_and_municipalities_are_404(signed_in, oslo, certified) -> None:
    assert signed_in.get("/m/oslo/apps/no-such-app").status_code == 404
    assert signed_in.get("/m/oslo/apps/no-such-app/enable").status_code == 404
    # An app the municipality has not enabled has no enablement page.
    response = signed_in.get("/m/oslo/apps/news2-test")
    assert response.status_code == 404
    assert "Oslo kommune has not enabled NEWS2 Test." in _text(response)
    # An organisation the admin belongs to that is no municipality on the platform.
    organisation = OrganisationFactory(slug="ikke-kommune", kind=OrganisationKind.MUNICIPALITY)
    MembershipFactory(user=oslo[1], role=Role.MUNICIPAL_ADMIN, organisation=organisation)
    assert signed_in.get("/m/ikke-kommune/apps").status_code == 404
    # A slug no organisation has: the role check answers first, as for another's municipality.
    assert signed_in.get("/m/no-such-place/apps").status_code == 403


def test_a_post_without_the_csrf_token_is_refused(signed_in, oslo, certified) -> None:
    enablement = _enable(*oslo, certified)
    before = _snapshot()
    version = str(enablement.version_id)

    answers = [
        signed_in.post(
            "/m/oslo/apps/news2-test/enable",
            data={"scopes": ["launch"], "roles": ["clinician"], "terms": "y"},
        ),
        signed_in.post(
            "/m/oslo/apps/news2-test/access",
            data={"access-scopes": ["launch"], "access-version_id": version},
        ),
        signed_in.post(
            "/m/oslo/apps/news2-test/disable",
            data={
                "disable-version_id": version,
                "disable-exit_step": "data_deleted",
                "disable-confirmed_by": "Noen",
                "disable-confirm": "y",
            },
        ),
        signed_in.post("/m/oslo/apps/news2-test/move", data={"move-version_id": version}),
    ]

    assert [a.status_code for a in answers] == [400] * 4
    assert "did not come from this site" in _text(answers[0])
    assert _snapshot() == before


# --- one enablement: access ----------------------------------------------------------------


def test_the_enablement_page_shows_release_scopes_roles_and_history(
    signed_in, oslo, certified
) -> None:
    _enable(*oslo, certified)

    response = signed_in.get("/m/oslo/apps/news2-test")

    page = _text(response)
    assert response.status_code == 200
    assert "<h1>NEWS2 Test in Oslo kommune</h1>" in page
    assert "Read and search observations (Observation) of the patient in context" in page
    assert _ticked(page, "access-scopes") == set(SUBSET)
    assert _offered(page, "access-scopes") == REGISTERED.split()
    assert _ticked(page, "access-roles") == {"clinician"}
    assert "Enabled, terms accepted" in page
    assert oslo[1].email in page
    assert "2 scopes approved" in page
    assert "New release available" not in page


def test_the_access_is_changed_within_the_release(signed_in, oslo, certified) -> None:
    enablement = _enable(*oslo, certified)

    response = _post(
        signed_in,
        "/m/oslo/apps/news2-test/access",
        {
            "access-scopes": ["launch", "patient/Patient.r"],
            "access-roles": ["clinician", "patient"],
            "access-version_id": str(enablement.version_id),
        },
    )

    assert response.status_code == 303
    stored = _stored(enablement)
    assert (stored.scope_list, stored.roles) == (
        ["launch", "patient/Patient.r"],
        ["clinician", "patient"],
    )
    assert "The access to NEWS2 Test is saved." in _text(signed_in.get("/m/oslo/apps/news2-test"))
    assert [e.kind.value for e in enablements.history(stored)] == ["enabled", "scopes_changed"]


def test_a_scope_the_release_did_not_register_is_refused_on_change(
    signed_in, oslo, certified
) -> None:
    enablement = _enable(*oslo, certified)
    before = _snapshot()

    response = _post(
        signed_in,
        "/m/oslo/apps/news2-test/access",
        {
            "access-scopes": ["launch", "patient/Observation.cruds"],
            "access-roles": ["clinician"],
            "access-version_id": str(enablement.version_id),
        },
    )

    assert response.status_code == 422
    assert "patient/Observation.cruds is not among the scopes release 1.0.0 registered." in _text(
        response
    )
    assert _snapshot() == before


def test_a_stale_page_is_412_and_changes_nothing(signed_in, oslo, certified) -> None:
    tenant, admin = oslo
    enablement = _enable(tenant, admin, certified)
    seen = enablement.version_id
    enablements.change_access(enablement, Access(["launch"], ["clinician"]), by=admin)
    db.session.flush()
    before = _snapshot()

    changed = _post(
        signed_in,
        "/m/oslo/apps/news2-test/access",
        {
            "access-scopes": SUBSET,
            "access-roles": ["clinician"],
            "access-version_id": str(seen),
        },
    )
    disabled = _post(
        signed_in,
        "/m/oslo/apps/news2-test/disable",
        {
            "disable-version_id": str(seen),
            "disable-exit_step": "data_deleted",
            "disable-confirmed_by": "Kari",
            "disable-confirm": "y",
        },
    )

    for response in (changed, disabled):
        assert response.status_code == 412
        assert "Someone changed this enablement meanwhile. Reload the page and try again." in _text(
            response
        )
    assert _snapshot() == before


def test_a_post_without_the_page_version_is_refused(signed_in, oslo, certified) -> None:
    _enable(*oslo, certified)
    before = _snapshot()

    response = _post(
        signed_in,
        "/m/oslo/apps/news2-test/access",
        {"access-scopes": ["launch"], "access-roles": ["clinician"]},
    )

    assert response.status_code == 422
    assert "The page was incomplete. Reload it and try again." in _text(response)
    assert _snapshot() == before


# --- disabling -------------------------------------------------------------------------------


@pytest.mark.usefixtures("english")  # launch_policy's reason, read outside a request
def test_disabling_records_the_exit_step_and_stops_launches(signed_in, oslo, certified) -> None:
    enablement = _enable(*oslo, certified)
    client_id = _client_id(certified)
    assert enablements.launch_policy(client_id, "oslo").allowed

    response = _post(
        signed_in,
        "/m/oslo/apps/news2-test/disable",
        {
            "disable-version_id": str(enablement.version_id),
            "disable-exit_step": "data_returned",
            "disable-confirmed_by": "Kari Nordlys, kundeansvarlig",
            "disable-note": "Eksport levert på minnepinne.",
            "disable-confirm": "y",
        },
    )

    assert response.status_code == 303
    stored = _stored(enablement)
    assert stored.state == EnablementState.DISABLED
    event = enablements.history(stored)[-1]
    assert (event.exit_step.value, event.exit_confirmed_by, event.note) == (
        "data_returned",
        "Kari Nordlys, kundeansvarlig",
        "Eksport levert på minnepinne.",
    )
    decision = enablements.launch_policy(client_id, "oslo")
    assert not decision.allowed
    assert decision.reason == "The municipality has disabled this app."
    page = _text(signed_in.get("/m/oslo/apps/news2-test"))
    assert "NEWS2 Test is disabled: it launches no more" in page
    assert "The vendor returned the municipality's data" in page
    assert "confirmed by Kari Nordlys, kundeansvarlig" in page
    assert 'action="/m/oslo/apps/news2-test/disable"' not in page  # no second disable


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (
            {"disable-exit_step": "data_deleted", "disable-confirmed_by": "Kari"},
            "Tick the box to confirm that the app stops at once.",
        ),
        (
            {"disable-exit_step": "forgotten", "disable-confirmed_by": "", "disable-confirm": "y"},
            "Say what became of the data: returned, deleted, or none held.",
        ),
        (
            {"disable-exit_step": "data_deleted", "disable-confirm": "y"},
            "Name who at the vendor confirmed it (at most 200 characters).",
        ),
    ],
)
def test_a_refused_disable_changes_nothing(signed_in, oslo, certified, form, message) -> None:
    enablement = _enable(*oslo, certified)
    before = _snapshot()

    response = _post(
        signed_in,
        "/m/oslo/apps/news2-test/disable",
        {"disable-version_id": str(enablement.version_id), **form},
    )

    assert response.status_code == 422
    assert message in _text(response)
    assert _snapshot() == before
    assert enablements.launch_policy(_client_id(certified), "oslo").allowed


# --- re-consent --------------------------------------------------------------------------------


def test_a_release_that_asks_for_nothing_more_moves_in_one_click(
    signed_in, oslo, certified
) -> None:
    enablement = _enable(*oslo, certified)
    narrower = _newer(certified, "1.0.1", "launch openid patient/Observation.rs")
    page = _text(signed_in.get("/m/oslo/apps/news2-test"))
    assert "New release available: 1.0.1" in page
    assert "asks for nothing more than you approved" in page
    assert "Move to 1.0.1" in page
    assert "Removed scopes" in page  # fhirUser and patient/Patient.r are gone

    response = _post(
        signed_in,
        "/m/oslo/apps/news2-test/move",
        {"move-version_id": str(enablement.version_id), "move-release": "1.0.1"},
    )

    assert response.status_code == 303
    assert _stored(enablement).release_id == narrower.id
    assert "NEWS2 Test now runs release 1.0.1." in _text(signed_in.get("/m/oslo/apps/news2-test"))
    decision = enablements.launch_policy(_client_id(certified), "oslo")
    assert (decision.release.version, decision.scopes) == ("1.0.1", SUBSET)


def test_a_wider_release_waits_for_explicit_approval(signed_in, oslo, certified) -> None:
    enablement = _enable(*oslo, certified)
    wider = _newer(certified, "1.1.0", REGISTERED + " patient/Condition.rs", launch_modes=["ehr"])
    page = _text(signed_in.get("/m/oslo/apps/news2-test"))
    assert "New release available: 1.1.0" in page
    assert "Nothing widens until you approve it" in page
    assert re.search(r'class="scope-added">\s*<span class="scope-meaning">[^<]*conditions', page)
    assert "Launch modes changed" in page
    assert "Approve and move to 1.1.0" in page
    # What was approved stays ticked; the new scope is the admin's to tick.
    assert _ticked(page, "approve-scopes") == set(SUBSET)
    assert "patient/Condition.rs" in _offered(page, "approve-scopes")
    version = str(enablement.version_id)

    # The one-click move is refused: it would widen the grant unapproved.
    before = _snapshot()
    one_click = _post(
        signed_in,
        "/m/oslo/apps/news2-test/move",
        {"move-version_id": version, "move-release": "1.1.0"},
    )
    assert one_click.status_code == 409
    assert "Release 1.1.0 asks for more than you approved: approve its scopes." in _text(one_click)
    assert _snapshot() == before
    decision = enablements.launch_policy(_client_id(certified), "oslo")
    assert (decision.allowed, decision.release.version) == (True, "1.0.0")

    approved = _post(
        signed_in,
        "/m/oslo/apps/news2-test/approve",
        {
            "approve-version_id": version,
            "approve-release": "1.1.0",
            "approve-scopes": [*SUBSET, "patient/Condition.rs"],
        },
    )

    assert approved.status_code == 303
    assert _stored(enablement).release_id == wider.id
    decision = enablements.launch_policy(_client_id(certified), "oslo")
    assert decision.release.version == "1.1.0"
    assert "patient/Condition.rs" in decision.scopes
    assert "New release available" not in _text(signed_in.get("/m/oslo/apps/news2-test"))


def test_an_approval_beyond_the_new_release_or_of_an_old_release_is_refused(
    signed_in, oslo, certified
) -> None:
    enablement = _enable(*oslo, certified)
    _newer(certified, "1.1.0", REGISTERED + " patient/Condition.rs")
    before = _snapshot()
    version = str(enablement.version_id)

    beyond = _post(
        signed_in,
        "/m/oslo/apps/news2-test/approve",
        {
            "approve-version_id": version,
            "approve-release": "1.1.0",
            "approve-scopes": ["launch", "patient/MedicationRequest.rs"],
        },
    )
    backwards = _post(
        signed_in,
        "/m/oslo/apps/news2-test/approve",
        {"approve-version_id": version, "approve-release": "1.0.0", "approve-scopes": ["launch"]},
    )
    unknown = _post(
        signed_in,
        "/m/oslo/apps/news2-test/approve",
        {"approve-version_id": version, "approve-release": "9.9.9", "approve-scopes": ["launch"]},
    )

    assert beyond.status_code == 422
    assert "patient/MedicationRequest.rs is not among the scopes release 1.1.0 registered." in (
        _text(beyond)
    )
    assert backwards.status_code == 409
    assert "Only the app's newest certified release can be chosen." in _text(backwards)
    assert unknown.status_code == 404
    assert _snapshot() == before


def test_a_stopped_release_shows_the_reason(signed_in, oslo, certified) -> None:
    _enable(*oslo, certified)
    releases.revoke(certified, by=reviewer(), reason="Appen lekket data mellom kommuner.")
    db.session.flush()

    page = _text(signed_in.get("/m/oslo/apps/news2-test"))

    assert "Stopped" in page
    assert "Release 1.0.0 is revoked" in page
    assert "Appen lekket data mellom kommuner." in page
    assert not enablements.launch_policy(_client_id(certified), "oslo").allowed
