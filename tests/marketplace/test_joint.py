"""Joint enablement: one admin proposes for a group, each member's own admin decides."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from catalog import releases
from catalog.models import PriceModel, ReleaseState, UsageUnit
from marketplace import enablements, joint, terms
from marketplace.enablements import Access
from marketplace.models import Enablement, JointProposal, JointState
from tests.factories.catalog import ReleaseFactory, reviewer
from tests.factories.marketplace import TenantFactory, admin_of
from torget.db import db
from torget.errors import Conflict, Forbidden, Invalid, NotFound

pytestmark = pytest.mark.usefixtures("english")

S = ReleaseState
SCOPES = "launch openid fhirUser patient/Observation.rs"
ACCESS = Access(["launch", "patient/Observation.rs"], ["clinician"])


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def group():
    """Vest-Telemark: Vinje proposes with Tokke and Seljord (fictional populations)."""
    vinje = TenantFactory(organisation__slug="vinje-t", population=3_800)
    tokke = TenantFactory(organisation__slug="tokke-t", population=2_200)
    seljord = TenantFactory(organisation__slug="seljord-t", population=3_000)
    release = ReleaseFactory(
        state=S.CERTIFIED,
        scopes=SCOPES,
        application__price_model=PriceModel.BASIS_USAGE,
        application__price_ore=90_000_00,
        application__usage_unit=UsageUnit.LAUNCH,
        application__basis_share_percent=50,
    )
    return release.application, (vinje, tokke, seljord)


def _propose(application, members, by=None, slugs=None):
    vinje = members[0]
    return joint.propose(
        application,
        name="Helsesamarbeid i Vest-Telemark",
        tenant_slugs=slugs if slugs is not None else [m.slug for m in members[1:]],
        access=ACCESS,
        proposer=vinje,
        by=by or admin_of(vinje),
    )


def test_each_member_decides_for_itself(group) -> None:
    application, (vinje, tokke, seljord) = group
    proposal = _propose(application, (vinje, tokke, seljord))
    assert [m.tenant for m in proposal.members] == [vinje, tokke, seljord]
    assert _count(Enablement) == 0  # a proposal enables nothing
    enablement = joint.approve(proposal, tokke, terms_version=terms.VERSION, by=admin_of(tokke))
    assert (enablement.tenant, enablement.scope_list) == (
        tokke,
        ["launch", "patient/Observation.rs"],
    )
    joint.decline(proposal, seljord, by=admin_of(seljord))
    states = {m.tenant.slug: m.state for m in proposal.members}
    assert states == {
        "vinje-t": JointState.PENDING,
        "tokke-t": JointState.APPROVED,
        "seljord-t": JointState.DECLINED,
    }
    assert joint.for_tenant(tokke) == [proposal]
    with pytest.raises(Conflict):
        joint.decline(proposal, tokke, by=admin_of(tokke))


def test_no_admin_decides_for_another_municipality(group) -> None:
    application, (vinje, tokke, seljord) = group
    proposal = _propose(application, (vinje, tokke, seljord))
    with pytest.raises(Forbidden):
        joint.approve(proposal, tokke, terms_version=terms.VERSION, by=admin_of(vinje))
    outsider = TenantFactory()
    with pytest.raises(Forbidden):
        joint.approve(proposal, outsider, terms_version=terms.VERSION, by=admin_of(outsider))
    with pytest.raises(NotFound):
        joint.get(proposal.id, outsider)
    with pytest.raises(Forbidden):
        _propose(application, (vinje, tokke), by=admin_of(tokke))  # proposes for Vinje
    assert _count(Enablement) == 0
    assert all(m.state == JointState.PENDING for m in proposal.members)


@pytest.mark.parametrize(
    ("slugs", "field", "message"),
    [
        (["atlantis"], "tenants", "No municipality is called atlantis."),
        ([], "tenants", "Choose at least one other municipality."),
        (["vinje-t"], "tenants", "Choose at least one other municipality."),
    ],
)
def test_a_group_of_real_municipalities(group, slugs, field, message) -> None:
    application, members = group
    with pytest.raises(Invalid) as refused:
        _propose(application, members, slugs=slugs)
    assert message in refused.value.fields[field]
    assert _count(JointProposal) == 0


def test_a_proposal_never_asks_for_more_than_the_release(group) -> None:
    application, members = group
    with pytest.raises(Invalid) as refused:
        joint.propose(
            application,
            name="X",
            tenant_slugs=[members[1].slug],
            access=Access(["patient/Condition.rs"], ["clinician"]),
            proposer=members[0],
            by=admin_of(members[0]),
        )
    assert "scopes" in refused.value.fields
    assert _count(JointProposal) == 0


def test_a_newer_release_makes_an_open_proposal_stale(group) -> None:
    application, (vinje, tokke, seljord) = group
    proposal = _propose(application, (vinje, tokke, seljord))
    newer = ReleaseFactory(
        application=application, version="9.0.0", state=S.IN_REVIEW, scopes=SCOPES
    )
    releases.certify(newer, by=reviewer())
    with pytest.raises(Conflict):
        joint.approve(proposal, tokke, terms_version=terms.VERSION, by=admin_of(tokke))
    assert _count(Enablement) == 0


def test_the_cost_split_follows_the_price_model_and_adds_up(group) -> None:
    application, (vinje, tokke, seljord) = group
    proposal = _propose(application, (vinje, tokke, seljord))
    # Basis + usage, 90 000 kr a year, before any use: split wholly by population
    # (pricing's rule): 9 000 inhabitants, so Vinje 3 800/9 000 * 9 000 000 øre
    # = 3 800 000, Tokke 2 200 000, Seljord 3 000 000.
    shares = {s.member.tenant.slug: s.yearly_ore for s in joint.cost_split(proposal)}
    assert shares == {"vinje-t": 3_800_000, "tokke-t": 2_200_000, "seljord-t": 3_000_000}
    joint.decline(proposal, seljord, by=admin_of(seljord))
    # Without Seljord: 6 000 inhabitants share the 90 000 kr.
    shares = {s.member.tenant.slug: s.yearly_ore for s in joint.cost_split(proposal)}
    assert shares == {"vinje-t": 5_700_000, "tokke-t": 3_300_000}
    assert sum(shares.values()) == 9_000_000


def test_approving_needs_the_current_terms_and_enabling_twice_is_a_conflict(group) -> None:
    application, (vinje, tokke, seljord) = group
    proposal = _propose(application, (vinje, tokke, seljord))
    with pytest.raises(Invalid):
        joint.approve(proposal, tokke, terms_version="old", by=admin_of(tokke))
    admin = admin_of(seljord)
    enablements.enable(seljord, application, ACCESS, terms_version=terms.VERSION, by=admin)
    with pytest.raises(Conflict):
        joint.approve(proposal, seljord, terms_version=terms.VERSION, by=admin)
    assert joint.member_of(proposal, seljord).state == JointState.PENDING
