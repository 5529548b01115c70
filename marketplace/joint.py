"""Joint enablement: municipalities that buy an app together (interkommunalt samarbeid).

An admin of one member proposes an app for a group, with the release's
scopes and roles they suggest. Nothing is enabled by the proposal: each
member's own admin approves for their municipality (which enables the app
there, accepting the terms) or declines. Each municipality stays the data
controller for its own data, so no admin decides for another.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from accounts.models import User
from catalog import releases
from catalog.models import Application
from marketplace import enablements, pricing, tenants
from marketplace.enablements import Access
from marketplace.models import Enablement, JointMember, JointProposal, JointState, Tenant
from torget.db import db, utcnow
from torget.errors import Conflict, FieldErrors, Forbidden, Invalid, NotFound

MAX_MEMBERS = 50


@dataclass(frozen=True)
class MemberShare:
    member: JointMember
    yearly_ore: int  # the member's share of the group's yearly cost, before any use


def propose(
    application: Application,
    *,
    name: str,
    tenant_slugs: list[str],
    access: Access,
    proposer: Tenant,
    by: User,
) -> JointProposal:
    """Propose the app to a group that includes the proposer's own municipality."""
    enablements.require_admin(by, proposer)
    release = releases.current_certified(application)
    if release is None:
        raise Conflict(
            _("%(app)s has no certified release: it cannot be enabled.", app=application.name)
        )
    errors = FieldErrors()
    name = (name or "").strip()
    errors.check(1 <= len(name) <= 200, "name", _("Name the group (at most 200 characters)."))
    members: list[Tenant] = [proposer]
    for slug in dict.fromkeys(s.strip() for s in tenant_slugs if s.strip()):
        found = tenants.find_by_slug(slug)
        if found is None:
            errors.add("tenants", _("No municipality is called %(slug)s.", slug=slug))
        elif found not in members:
            members.append(found)
    errors.check(len(members) >= 2, "tenants", _("Choose at least one other municipality."))
    errors.check(
        len(members) <= MAX_MEMBERS,
        "tenants",
        _("A group has at most %(n)d municipalities.", n=MAX_MEMBERS),
    )
    scopes, roles = enablements.check_access(release, access, errors)
    errors.raise_if_any()
    proposal = JointProposal(
        application=application,
        release=release,
        scopes=scopes,
        roles=roles,
        name=name,
        proposed_by_id=by.id,
        members=[JointMember(tenant=t) for t in members],
    )
    db.session.add(proposal)
    db.session.flush()  # generate proposal.id for the page it goes to
    return proposal


def get(proposal_id: int, tenant: Tenant) -> JointProposal:
    """A proposal `tenant` is a member of; NotFound for any other."""
    proposal = db.session.get(JointProposal, proposal_id)
    if proposal is None or member_of(proposal, tenant) is None:
        raise NotFound(_("No such proposal."))
    return proposal


def for_tenant(tenant: Tenant) -> list[JointProposal]:
    """The proposals the municipality is a member of, newest first."""
    return list(
        db.session.scalars(
            select(JointProposal)
            .join(JointMember)
            .where(JointMember.tenant_id == tenant.id)
            .order_by(JointProposal.created_at.desc(), JointProposal.id.desc())
        )
    )


def member_of(proposal: JointProposal, tenant: Tenant) -> JointMember | None:
    return next((m for m in proposal.members if m.tenant_id == tenant.id), None)


def approve(proposal: JointProposal, tenant: Tenant, *, terms_version: str, by: User) -> Enablement:
    """The municipality's own admin joins: the app is enabled here as proposed."""
    member = _open_member(proposal, tenant, by)
    if releases.current_certified(proposal.application) != proposal.release:
        raise Conflict(
            _("A newer release has been certified since the proposal: propose it again.")
        )
    enablement = enablements.enable(
        tenant,
        proposal.application,
        Access(scopes=proposal.scopes.split(), roles=list(proposal.roles)),
        terms_version=terms_version,
        by=by,
    )
    member.state, member.decided_by_id, member.decided_at = JointState.APPROVED, by.id, utcnow()
    return enablement


def decline(proposal: JointProposal, tenant: Tenant, *, by: User) -> JointMember:
    member = _open_member(proposal, tenant, by)
    member.state, member.decided_by_id, member.decided_at = JointState.DECLINED, by.id, utcnow()
    return member


def _open_member(proposal: JointProposal, tenant: Tenant, by: User) -> JointMember:
    enablements.require_admin(by, tenant)
    member = member_of(proposal, tenant)
    if member is None:
        raise Forbidden(_("%(tenant)s is not in this group.", tenant=tenant.name))
    if member.state != JointState.PENDING:
        raise Conflict(_("%(tenant)s has decided already.", tenant=tenant.name))
    return member


def cost_split(proposal: JointProposal) -> list[MemberShare]:
    """Each member's share of the group's yearly cost by the app's price model.

    Before any use: a basis + usage price splits its use part by population
    too (pricing's rule), so the shares are what the group can expect to pay.
    Declined members are left out; the rest share the cost.
    """
    joining = [m for m in proposal.members if m.state != JointState.DECLINED]
    if not joining:
        return []
    price = pricing.Price.of(proposal.application)
    try:
        shares = pricing.split_for_group(
            price, [pricing.Situation(population=m.tenant.population) for m in joining]
        )
    except Invalid:
        # A group of municipalities with no inhabitants (the sandbox): nothing to split by.
        shares = [0] * len(joining)
    return [MemberShare(member=m, yearly_ore=s) for m, s in zip(joining, shares, strict=True)]
