"""Enablements: a scope subset, re-consent on a wider release, disable, the launch policy."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from catalog import credentials, releases
from catalog.models import Environment, ReleaseState
from marketplace import enablements, terms
from marketplace.enablements import Access
from marketplace.models import Enablement, EnablementEvent, EnablementState, TermsAcceptance
from tests.factories.catalog import ReleaseFactory, reviewer
from tests.factories.marketplace import TenantFactory, admin_of
from torget.db import db
from torget.errors import Conflict, Forbidden, Invalid, PreconditionFailed

pytestmark = pytest.mark.usefixtures("english")

S = ReleaseState
REGISTERED = "launch openid fhirUser patient/Observation.rs patient/Patient.r"
SUBSET = Access(scopes=["launch", "patient/Observation.r"], roles=["clinician"])


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def certified():
    release = ReleaseFactory(state=S.CERTIFIED, version="1.0.0", scopes=REGISTERED)
    credentials.ensure_client(release.application, Environment.PRODUCTION)
    return release


@pytest.fixture
def oslo():
    tenant = TenantFactory(organisation__slug="oslo-test", organisation__name="Oslo")
    return tenant, admin_of(tenant)


def _enable(tenant, admin, release, access=SUBSET):
    return enablements.enable(
        tenant, release.application, access, terms_version=terms.VERSION, by=admin
    )


def _production(release) -> str:
    return credentials.find_client(release.application, Environment.PRODUCTION).client_id


def test_an_admin_enables_a_subset_and_accepts_the_terms(oslo, certified) -> None:
    tenant, admin = oslo
    enablement = _enable(tenant, admin, certified)
    assert enablement.state == EnablementState.ACTIVE
    assert enablement.release == certified
    assert enablement.scope_list == ["launch", "patient/Observation.r"]
    assert enablement.roles == ["clinician"]
    (accepted,) = db.session.scalars(sa.select(TermsAcceptance)).all()
    assert (accepted.terms_version, accepted.terms_sha256) == (terms.VERSION, terms.sha256())
    assert accepted.accepted_by_id == admin.id
    (event,) = enablements.history(enablement)
    assert (event.kind.value, event.actor_id, event.scopes) == (
        "enabled",
        admin.id,
        "launch patient/Observation.r",
    )


@pytest.mark.parametrize(
    ("access", "field", "message"),
    [
        (
            Access(["patient/Observation.rs", "patient/Condition.rs"], ["clinician"]),
            "scopes",
            "patient/Condition.rs is not among the scopes release 1.0.0 registered.",
        ),
        (Access(["patient/Observation.cruds"], ["clinician"]), "scopes", "is not among"),
        (Access(["user/Observation.rs"], ["clinician"]), "scopes", "is not among"),
        (Access(["not a scope"], ["clinician"]), "scopes", ""),
        (Access([], ["clinician"]), "scopes", "Approve at least one scope."),
        (Access(["launch"], []), "roles", "Choose who may launch the app."),
        (Access(["launch"], ["operator"]), "roles", "operator cannot launch apps."),
    ],
)
def test_never_more_than_the_release_registered(oslo, certified, access, field, message) -> None:
    tenant, admin = oslo
    with pytest.raises(Invalid) as refused:
        _enable(tenant, admin, certified, access)
    assert field in refused.value.fields
    assert any(message in m for m in refused.value.fields[field])
    assert (_count(Enablement), _count(TermsAcceptance), _count(EnablementEvent)) == (0, 0, 0)


def test_the_terms_must_be_accepted_in_their_current_version(oslo, certified) -> None:
    tenant, admin = oslo
    for version in ("", "2025-01"):
        with pytest.raises(Invalid) as refused:
            enablements.enable(
                tenant, certified.application, SUBSET, terms_version=version, by=admin
            )
        assert "terms" in refused.value.fields
    assert _count(Enablement) == 0


@pytest.mark.parametrize(
    "state", [S.DRAFT, S.SUBMITTED, S.IN_REVIEW, S.REJECTED, S.REVOKED, S.SUSPENDED, S.SUPERSEDED]
)
def test_only_a_certified_release_is_enabled(oslo, state) -> None:
    tenant, admin = oslo
    release = ReleaseFactory(state=state, scopes=REGISTERED)
    with pytest.raises(Conflict):
        _enable(tenant, admin, release)
    assert _count(Enablement) == 0


def test_the_release_to_enable_is_the_certified_one(certified) -> None:
    assert enablements.release_to_enable(certified.application) == certified
    suspended = ReleaseFactory(state=S.SUSPENDED, scopes=REGISTERED)
    with pytest.raises(Conflict) as refused:
        enablements.release_to_enable(suspended.application)
    assert refused.value.detail == (
        f"{suspended.application.name} has no certified release: it cannot be enabled."
    )


def test_bergen_cannot_act_for_oslo(oslo, certified) -> None:
    tenant, admin = oslo
    bergen = TenantFactory()
    with pytest.raises(Forbidden):
        _enable(tenant, admin_of(bergen), certified)
    with pytest.raises(Forbidden):
        _enable(tenant, reviewer(), certified)
    enablement = _enable(tenant, admin, certified)
    with pytest.raises(Forbidden):
        enablements.disable(
            enablement, exit_step="data_deleted", confirmed_by="X", by=admin_of(bergen)
        )
    assert enablement.state == EnablementState.ACTIVE


def test_enabling_twice_is_a_conflict_and_a_disabled_one_opens_again(oslo, certified) -> None:
    tenant, admin = oslo
    enablement = _enable(tenant, admin, certified)
    with pytest.raises(Conflict):
        _enable(tenant, admin, certified)
    enablements.disable(enablement, exit_step="no_data_held", confirmed_by="Leverandøren", by=admin)
    again = _enable(tenant, admin, certified, Access(["launch"], ["clinician"]))
    assert again.id == enablement.id
    assert (again.state, again.scope_list) == (EnablementState.ACTIVE, ["launch"])
    kinds = [e.kind.value for e in enablements.history(again)]
    assert kinds == ["enabled", "disabled", "enabled"]
    assert _count(TermsAcceptance) == 2


def test_disable_records_the_exit_step_and_stops_launches(oslo, certified) -> None:
    tenant, admin = oslo
    enablement = _enable(tenant, admin, certified)
    client_id = _production(certified)
    assert enablements.launch_policy(client_id, tenant.slug).allowed
    with pytest.raises(Invalid) as refused:
        enablements.disable(enablement, exit_step="forgotten", confirmed_by="", by=admin)
    assert set(refused.value.fields) == {"exit_step", "confirmed_by"}
    assert enablement.state == EnablementState.ACTIVE
    enablements.disable(
        enablement, exit_step="data_deleted", confirmed_by="Kari, Nordlys Helse", by=admin
    )
    event = enablements.history(enablement)[-1]
    assert (event.kind.value, event.exit_step.value, event.exit_confirmed_by) == (
        "disabled",
        "data_deleted",
        "Kari, Nordlys Helse",
    )
    decision = enablements.launch_policy(client_id, tenant.slug)
    assert not decision.allowed
    assert decision.reason == "The municipality has disabled this app."
    with pytest.raises(Conflict):
        enablements.disable(enablement, exit_step="data_deleted", confirmed_by="X", by=admin)


def test_a_stale_change_is_refused(oslo, certified) -> None:
    tenant, admin = oslo
    enablement = _enable(tenant, admin, certified)
    seen = enablement.version_id
    enablements.change_access(enablement, Access(["launch"], ["clinician"]), by=admin)
    with pytest.raises(PreconditionFailed):
        enablements.disable(
            enablement, exit_step="data_deleted", confirmed_by="X", by=admin, expected_version=seen
        )
    assert enablement.state == EnablementState.ACTIVE


def test_a_wider_release_waits_for_approval_and_the_old_keeps_working(oslo, certified) -> None:
    tenant, admin = oslo
    enablement = _enable(
        tenant, admin, certified, Access(["launch", "patient/Observation.rs"], ["clinician"])
    )
    wider = ReleaseFactory(
        application=certified.application,
        version="1.1.0",
        state=S.IN_REVIEW,
        scopes=REGISTERED + " patient/Condition.rs",
    )
    releases.certify(wider, by=reviewer())
    assert certified.state == S.SUPERSEDED
    assert enablements.newer_release(enablement) == wider
    assert enablements.widening(enablement, wider) == ["patient/Condition.rs"]
    # Until the admin approves, the tenant stays on 1.0.0, which still launches.
    decision = enablements.launch_policy(_production(certified), tenant.slug)
    assert decision.allowed
    assert decision.release == certified
    assert decision.scopes == ["launch", "patient/Observation.rs"]
    with pytest.raises(Conflict):
        enablements.move_to_release(enablement, wider, by=admin)
    assert enablement.release == certified
    enablements.move_to_release(
        enablement,
        wider,
        Access(["launch", "patient/Observation.rs", "patient/Condition.rs"], ["clinician"]),
        by=admin,
    )
    decision = enablements.launch_policy(_production(certified), tenant.slug)
    assert decision.release == wider
    assert "patient/Condition.rs" in decision.scopes
    assert enablements.newer_release(enablement) is None


def test_a_release_that_asks_for_nothing_more_moves_in_one_click(oslo, certified) -> None:
    tenant, admin = oslo
    enablement = _enable(tenant, admin, certified)
    narrower = ReleaseFactory(
        application=certified.application,
        version="1.0.1",
        state=S.IN_REVIEW,
        scopes="launch patient/Observation.rs",
    )
    releases.certify(narrower, by=reviewer())
    assert enablements.widening(enablement, narrower) == []
    enablements.move_to_release(enablement, narrower, by=admin)
    assert enablement.release == narrower
    assert enablement.scope_list == ["launch", "patient/Observation.r"]
    # Only the newest certified release: never back to the superseded one.
    with pytest.raises(Conflict):
        enablements.move_to_release(enablement, certified, by=admin)


def test_a_suspended_release_stops_every_tenant_on_it(oslo, certified) -> None:
    tenant, admin = oslo
    enablement = _enable(tenant, admin, certified)
    releases.suspend(certified, by=reviewer(), reason="Sikkerhetshull.")
    assert enablements.is_stopped(enablement)
    decision = enablements.launch_policy(_production(certified), tenant.slug)
    assert not decision.allowed
    assert decision.reason == "Release 1.0.0 is suspended."


def test_the_launch_policy_for_unknown_clients_and_other_tenants(oslo, certified) -> None:
    tenant, admin = oslo
    _enable(tenant, admin, certified)
    assert not enablements.launch_policy("no-such-client", tenant.slug).allowed
    other = TenantFactory()
    refused = enablements.launch_policy(_production(certified), other.slug)
    assert not refused.allowed
    assert refused.reason == "The municipality has not enabled this app."


def test_a_sandbox_client_launches_only_on_the_sandbox_tenant(app, oslo) -> None:
    release = ReleaseFactory(state=S.SUBMITTED, scopes=REGISTERED)
    sandbox = credentials.ensure_client(release.application, Environment.SANDBOX)
    TenantFactory(organisation__slug=app.config["TORGET"].sandbox_tenant)
    decision = enablements.launch_policy(sandbox.client_id, "sandkasse")
    assert decision.allowed
    assert decision.scopes == release.scope_list
    assert not enablements.launch_policy(sandbox.client_id, oslo[0].slug).allowed
    releases.start_review(release, by=reviewer())
    releases.reject(release, by=reviewer(), reason="Mangler DPIA.")
    assert not enablements.launch_policy(sandbox.client_id, "sandkasse").allowed


def test_a_municipality_lists_active_enablements_first(oslo, certified) -> None:
    tenant, admin = oslo
    zeta = ReleaseFactory(state=S.CERTIFIED, application__name="Zeta", scopes=REGISTERED)
    alfa = ReleaseFactory(state=S.CERTIFIED, application__name="Alfa", scopes=REGISTERED)
    on = _enable(tenant, admin, zeta)
    off = _enable(tenant, admin, alfa)
    enablements.disable(off, exit_step="no_data_held", confirmed_by="Leverandøren", by=admin)
    also_on = _enable(tenant, admin, certified)
    assert [e.application.name for e in enablements.for_tenant(tenant)] == [
        also_on.application.name,
        on.application.name,
        "Alfa",
    ]
    assert enablements.for_tenant(TenantFactory()) == []
