"""The API of the shelf, requests and joint purchases: the same rules as the pages."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.models import PriceModel, ReleaseState
from marketplace import terms
from marketplace.models import AppRequest, Enablement, JointProposal
from tests.conftest import bearer as _bearer
from tests.factories.catalog import ReleaseFactory
from tests.factories.marketplace import TenantFactory, admin_of, clinician_of
from torget.db import db

SCOPES = ["launch", "patient/Observation.rs"]


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _app(price_model=PriceModel.FREE, price_ore=None):
    return ReleaseFactory(
        state=ReleaseState.CERTIFIED,
        scopes=" ".join(SCOPES),
        application__price_model=price_model,
        application__price_ore=price_ore,
    ).application


def test_ask_answer_and_the_shelf(client, db_session) -> None:
    tenant = TenantFactory()
    admin, clinician = admin_of(tenant), clinician_of(tenant)
    app = _app()
    asked = client.post(
        f"/api/v1/apps/{app.slug}/requests",
        json={"tenant": tenant.slug, "message": "Til hjemmetjenesten."},
        headers=_bearer(clinician),
    )
    assert asked.status_code == 201, asked.json
    assert (asked.json["app"], asked.json["state"]) == (app.slug, "open")
    again = client.post(
        f"/api/v1/apps/{app.slug}/requests",
        json={"tenant": tenant.slug},
        headers=_bearer(clinician),
    )
    assert again.status_code == 409
    assert again.content_type == "application/problem+json"
    assert _count(AppRequest) == 1
    # Only the municipality's admins read and answer.
    assert (
        client.get(
            f"/api/v1/tenants/{tenant.slug}/requests", headers=_bearer(clinician)
        ).status_code
        == 403
    )
    listed = client.get(f"/api/v1/tenants/{tenant.slug}/requests", headers=_bearer(admin))
    assert [r["message"] for r in listed.json] == ["Til hjemmetjenesten."]
    path = f"/api/v1/tenants/{tenant.slug}/requests/{asked.json['id']}/answer"
    assert client.post(path, json={"answer": ""}, headers=_bearer(admin)).status_code == 422
    answered = client.post(path, json={"answer": "Ja."}, headers=_bearer(admin))
    assert (answered.status_code, answered.json["state"]) == (200, "answered")
    shelf = client.get(f"/api/v1/tenants/{tenant.slug}/shelf", headers=_bearer(clinician))
    assert (shelf.status_code, shelf.json) == (200, [])
    assert (
        client.get(f"/api/v1/tenants/{tenant.slug}/shelf", headers=_bearer(admin)).status_code
        == 403
    )


def test_a_joint_purchase_through_the_api(client, db_session) -> None:
    bergen = TenantFactory(population=292_000)
    bodo = TenantFactory(population=53_000)
    app = _app(PriceModel.PER_INHABITANT, 100)
    proposed = client.post(
        f"/api/v1/tenants/{bergen.slug}/joint",
        json={"app": app.slug, "name": "Vest", "tenants": [bodo.slug, "atlantis"],
              "scopes": SCOPES, "roles": ["clinician"]},
        headers=_bearer(admin_of(bergen)),
    )  # fmt: skip
    assert proposed.status_code == 422
    assert _count(JointProposal) == 0
    proposed = client.post(
        f"/api/v1/tenants/{bergen.slug}/joint",
        json={"app": app.slug, "name": "Vest", "tenants": [bodo.slug], "scopes": SCOPES,
              "roles": ["clinician"]},
        headers=_bearer(admin_of(bergen)),
    )  # fmt: skip
    assert proposed.status_code == 201, proposed.json
    # Per inhabitant, 1 kr: Bergen 292 000 kr, Bodø 53 000 kr a year.
    shares = {m["tenant"]: m["yearly_share_ore"] for m in proposed.json["members"]}
    assert shares == {bergen.slug: 29_200_000, bodo.slug: 5_300_000}
    path = f"/api/v1/tenants/{bodo.slug}/joint/{proposed.json['id']}"
    bodo_admin = _bearer(admin_of(bodo))
    assert (
        client.post(
            f"{path}/approve", json={"terms_version": "gammel"}, headers=bodo_admin
        ).status_code
        == 422
    )
    assert _count(Enablement) == 0
    joined = client.post(
        f"{path}/approve", json={"terms_version": terms.VERSION}, headers=bodo_admin
    )
    assert joined.status_code == 200
    states = {m["tenant"]: m["state"] for m in joined.json["members"]}
    assert states == {bergen.slug: "pending", bodo.slug: "approved"}
    assert _count(Enablement) == 1
    outsider = TenantFactory()
    other = client.get(
        f"/api/v1/tenants/{outsider.slug}/joint/{proposed.json['id']}",
        headers=_bearer(admin_of(outsider)),
    )
    assert other.status_code == 404
