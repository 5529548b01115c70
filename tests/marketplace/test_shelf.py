"""The clinician's app shelf, asking for an app, and the admins' request queue."""

from __future__ import annotations

from html import unescape

import pytest
import sqlalchemy as sa

from catalog import credentials, releases
from catalog.models import Environment, ReleaseState
from marketplace import enablements, shelf, terms
from marketplace.enablements import Access
from marketplace.models import AppRequest, AppRequestState
from tests.conftest import sign_in_in_english as _sign_in
from tests.factories.catalog import ReleaseFactory, reviewer
from tests.factories.marketplace import TenantFactory, admin_of, clinician_of
from torget.db import db
from torget.errors import Conflict, Forbidden, Invalid, NotFound

pytestmark = pytest.mark.usefixtures("english")

S = ReleaseState
SCOPES = "launch openid fhirUser patient/Observation.rs"


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AppRequest))


def _certified(name: str):
    release = ReleaseFactory(state=S.CERTIFIED, scopes=SCOPES, application__name=name)
    credentials.ensure_client(release.application, Environment.PRODUCTION)
    return release


@pytest.fixture
def place():
    tenant = TenantFactory()
    return tenant, admin_of(tenant), clinician_of(tenant)


def _enable(tenant, admin, release, roles=("clinician",)):
    return enablements.enable(
        tenant,
        release.application,
        Access(["launch", "patient/Observation.rs"], list(roles)),
        terms_version=terms.VERSION,
        by=admin,
    )


def test_the_shelf_shows_what_the_municipality_enabled_for_clinicians(place) -> None:
    tenant, admin, clinician = place
    on = _enable(tenant, admin, _certified("NEWS2 Varsel"))
    _enable(tenant, admin, _certified("Pasientapp"), roles=("patient",))
    stopped = _enable(tenant, admin, _certified("Stoppet"))
    releases.suspend(stopped.release, by=reviewer(), reason="Sikkerhetshull.")
    off = _enable(tenant, admin, _certified("Avslått"))
    enablements.disable(off, exit_step="no_data_held", confirmed_by="Leverandøren", by=admin)
    elsewhere = TenantFactory()
    _enable(elsewhere, admin_of(elsewhere), _certified("Annen kommune"))
    assert shelf.apps_for(clinician, tenant) == [on]
    with pytest.raises(Forbidden):
        shelf.apps_for(clinician_of(TenantFactory()), tenant)
    with pytest.raises(Forbidden):
        shelf.apps_for(admin, tenant)  # an admin is not a clinician there


def test_a_clinician_asks_once_and_the_admin_answers(place) -> None:
    tenant, admin, clinician = place
    wanted = _certified("Tjenesteoversikt").application
    request = shelf.ask_for(wanted, tenant, message="  For hjemmetjenesten.  ", by=clinician)
    assert (request.state, request.message) == (AppRequestState.OPEN, "For hjemmetjenesten.")
    with pytest.raises(Conflict):
        shelf.ask_for(wanted, tenant, message="", by=clinician)
    assert _count() == 1
    assert shelf.requests_of(tenant, by=admin) == [request]
    with pytest.raises(Forbidden):
        shelf.requests_of(tenant, by=clinician)
    with pytest.raises(Invalid):
        shelf.answer(tenant, request.id, text="  ", by=admin)
    shelf.answer(tenant, request.id, text="Vi ser på det i januar.", by=admin)
    assert request.state == AppRequestState.ANSWERED
    with pytest.raises(Conflict):
        shelf.answer(tenant, request.id, text="Igjen.", by=admin)
    other = TenantFactory()
    with pytest.raises(NotFound):
        shelf.answer(other, request.id, text="Feil kommune.", by=admin_of(other))
    # Answered: the clinician may ask again.
    assert shelf.ask_for(wanted, tenant, message="", by=clinician).id != request.id


def test_asking_for_an_unlisted_or_enabled_app_is_refused(place) -> None:
    tenant, admin, clinician = place
    draft = ReleaseFactory(state=S.DRAFT).application
    with pytest.raises(NotFound):
        shelf.ask_for(draft, tenant, message="", by=clinician)
    enabled = _certified("Allerede på")
    _enable(tenant, admin, enabled)
    with pytest.raises(Conflict):
        shelf.ask_for(enabled.application, tenant, message="", by=clinician)
    with pytest.raises(Invalid):
        shelf.ask_for(_certified("Lang").application, tenant, message="x" * 2001, by=clinician)
    with pytest.raises(Forbidden):
        shelf.ask_for(_certified("Ikke min").application, tenant, message="", by=admin)
    assert _count() == 0


def test_the_pages_from_asking_to_answering(client, place) -> None:
    tenant, admin, clinician = place
    wanted = _certified("Tjenesteoversikt").application
    _enable(tenant, admin, _certified("NEWS2 Varsel"))
    token = _sign_in(client, clinician)
    response = client.get("/shelf")
    assert response.headers["Location"] == f"/m/{tenant.slug}/shelf"
    page = unescape(client.get(f"/m/{tenant.slug}/shelf").get_data(as_text=True))
    assert "NEWS2 Varsel" in page
    assert "Tjenesteoversikt" not in page
    assert "Tjenesteoversikt" in client.get(f"/apps/{wanted.slug}/request").get_data(as_text=True)
    sent = client.post(
        f"/apps/{wanted.slug}/request",
        data={"tenant": tenant.slug, "message": "For hjemmetjenesten.", "csrf_token": token},
    )
    assert sent.status_code == 303
    again = client.post(
        f"/apps/{wanted.slug}/request", data={"tenant": tenant.slug, "csrf_token": token}
    )
    assert again.status_code == 409
    assert "You have asked for Tjenesteoversikt already." in unescape(again.get_data(as_text=True))
    assert _count() == 1
    # Another municipality, or none that exists: refused, never sent elsewhere.
    other = TenantFactory()
    wrong = [(other.slug, 403), ("atlantis", 404)]
    for slug, status in wrong:
        refused = client.post(
            f"/apps/{wanted.slug}/request", data={"tenant": slug, "csrf_token": token}
        )
        assert refused.status_code == status
    assert _count() == 1
    assert client.get(f"/m/{tenant.slug}/requests").status_code == 403

    client.post("/logout", data={"csrf_token": token})
    token = _sign_in(client, admin)
    queue = unescape(client.get(f"/m/{tenant.slug}/requests").get_data(as_text=True))
    assert "For hjemmetjenesten." in queue
    request = db.session.scalar(sa.select(AppRequest))
    path = f"/m/{tenant.slug}/requests/{request.id}/answer"
    assert client.post(path, data={"answer": "", "csrf_token": token}).status_code == 422
    assert client.post(path, data={"answer": "Ja, fra januar."}).status_code == 400  # no CSRF
    assert (
        client.post(path, data={"answer": "Ja, fra januar.", "csrf_token": token}).status_code
        == 303
    )
    db.session.expire_all()
    assert db.session.get(AppRequest, request.id).answer == "Ja, fra januar."
    other = TenantFactory()
    assert client.get(f"/m/{other.slug}/requests").status_code == 403
