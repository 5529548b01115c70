"""Joint enablement pages: propose, decide for one's own municipality, never for another."""

from __future__ import annotations

from html import unescape

import sqlalchemy as sa

from catalog.models import PriceModel, ReleaseState
from marketplace import terms
from marketplace.models import Enablement, JointMember, JointProposal, JointState
from tests.conftest import sign_in_in_english as _sign_in
from tests.factories.catalog import ReleaseFactory
from tests.factories.marketplace import TenantFactory, admin_of
from torget.db import db


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def test_propose_then_each_member_decides(client, db_session) -> None:
    bergen = TenantFactory(
        organisation__slug="bergen-j", organisation__name="Bergen", population=292_000
    )
    bodo = TenantFactory(organisation__slug="bodo-j", organisation__name="Bodø", population=53_000)
    release = ReleaseFactory(
        state=ReleaseState.CERTIFIED,
        scopes="launch patient/Observation.rs",
        application__price_model=PriceModel.FIXED,
        application__price_ore=12_000_00,
    )
    app = release.application
    bergen_admin, bodo_admin = admin_of(bergen), admin_of(bodo)

    token = _sign_in(client, bergen_admin)
    page = _text(client.get(f"/m/bergen-j/joint/new/{app.slug}"))
    assert "Propose" in page
    assert "Read and search" in page  # every scope explained
    refused = client.post(
        f"/m/bergen-j/joint/new/{app.slug}",
        data={
            "name": "Vest",
            "tenants": ["atlantis"],
            "scopes": ["launch"],
            "roles": ["clinician"],
            "csrf_token": token,
        },
    )
    assert refused.status_code == 422
    assert "No municipality is called atlantis." in _text(refused)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JointProposal)) == 0
    sent = client.post(
        f"/m/bergen-j/joint/new/{app.slug}",
        data={
            "name": "Bergen og Bodø",
            "tenants": ["bodo-j"],
            "scopes": ["launch", "patient/Observation.rs"],
            "roles": ["clinician"],
            "csrf_token": token,
        },
    )
    assert sent.status_code == 303
    proposal = db.session.scalar(sa.select(JointProposal))
    page = _text(client.get(sent.headers["Location"]))
    # Fixed price: each member pays its own yearly price (12 000 kr).
    assert page.count("12,000.00 kr") + page.count("12 000,00 kr") >= 2
    # Bergen's admin cannot decide for Bodø: no such page for them, and the action is refused.
    assert (
        client.post(
            f"/m/bodo-j/joint/{proposal.id}/decline", data={"csrf_token": token}
        ).status_code
        == 403
    )
    client.post("/logout", data={"csrf_token": token})

    token = _sign_in(client, bodo_admin)
    path = f"/m/bodo-j/joint/{proposal.id}"
    assert "Join and enable for Bodø" in _text(client.get(path))
    unticked = client.post(
        f"{path}/approve", data={"terms_version": terms.VERSION, "csrf_token": token}
    )
    assert unticked.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enablement)) == 0
    joined = client.post(
        f"{path}/approve", data={"terms_version": terms.VERSION, "accept": "y", "csrf_token": token}
    )
    assert joined.status_code == 303
    db.session.expire_all()
    member = db.session.scalar(sa.select(JointMember).where(JointMember.tenant_id == bodo.id))
    assert member.state == JointState.APPROVED
    enablement = db.session.scalar(sa.select(Enablement))
    assert (enablement.tenant_id, enablement.approved_scopes) == (
        bodo.id,
        "launch patient/Observation.rs",
    )
    # Decided: no second decision.
    assert client.post(f"{path}/decline", data={"csrf_token": token}).status_code == 409
    # A municipality outside the group does not see the proposal.
    outsider = TenantFactory()
    client.post("/logout", data={"csrf_token": token})
    token = _sign_in(client, admin_of(outsider))
    assert client.get(f"/m/{outsider.slug}/joint/{proposal.id}").status_code == 404
