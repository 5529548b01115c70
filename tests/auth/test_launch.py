"""EHR launch contexts: for one app and municipality, spent once, within five minutes."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from auth import launch
from auth.models import LaunchContext
from catalog import credentials, releases
from catalog.models import Environment, ReleaseState
from marketplace import enablements, terms
from marketplace.enablements import Access
from tests.factories.catalog import ReleaseFactory, reviewer
from tests.factories.marketplace import TenantFactory, admin_of, clinician_of
from torget.db import db, utcnow
from torget.errors import Conflict, Forbidden, Invalid

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def enabled():
    """An app Oslo-like municipality enabled for EHR launch; its production client id."""
    release = ReleaseFactory(
        state=ReleaseState.CERTIFIED, scopes="launch patient/Observation.rs", launch_modes=["ehr"]
    )
    client = credentials.ensure_client(release.application, Environment.PRODUCTION)
    tenant = TenantFactory()
    enablements.enable(
        tenant,
        release.application,
        Access(["launch", "patient/Observation.rs"], ["clinician"]),
        terms_version=terms.VERSION,
        by=admin_of(tenant),
    )
    return tenant, client.client_id, release


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(LaunchContext))


def test_a_context_is_spent_once_by_its_app(enabled) -> None:
    tenant, client_id, _release = enabled
    user = clinician_of(tenant)
    issued = launch.create(
        client_id=client_id,
        tenant=tenant,
        user=user,
        patient="pas-123",
        encounter="enc.9",
        intent="reconcile-medications",
        fhir_context=[{"reference": "DiagnosticReport/42", "role": "launch"}],
    )
    stored = db.session.scalar(sa.select(LaunchContext.launch_hash))
    assert issued.launch not in stored  # only a hash is kept
    with pytest.raises(Invalid):
        launch.spend(issued.launch, client_id="another-app")  # does not burn it
    context = launch.spend(issued.launch, client_id=client_id)
    assert (context.patient, context.encounter, context.user_id) == ("pas-123", "enc.9", user.id)
    assert context.fhir_context == [{"reference": "DiagnosticReport/42", "role": "launch"}]
    with pytest.raises(Invalid) as refused:
        launch.spend(issued.launch, client_id=client_id)
    assert "used, expired, or meant for another app" in refused.value.detail


def test_a_context_expires_after_five_minutes(enabled) -> None:
    tenant, client_id, _release = enabled
    made = utcnow()
    issued = launch.create(client_id=client_id, tenant=tenant, user=None, now=made)
    with pytest.raises(Invalid):
        launch.spend(issued.launch, client_id=client_id, now=made + dt.timedelta(minutes=5))
    issued = launch.create(client_id=client_id, tenant=tenant, user=None, now=made)
    assert launch.spend(issued.launch, client_id=client_id, now=made + dt.timedelta(minutes=4))


def test_no_context_for_an_app_the_municipality_may_not_launch(enabled) -> None:
    tenant, client_id, release = enabled
    with pytest.raises(Forbidden, match="has not enabled"):
        launch.create(client_id=client_id, tenant=TenantFactory(), user=None)
    releases.suspend(release, by=reviewer(), reason="Sikkerhetshull.")
    with pytest.raises(Forbidden, match="suspended"):
        launch.create(client_id=client_id, tenant=tenant, user=None)
    assert _count() == 0


def test_no_context_for_an_app_without_ehr_launch(db_session) -> None:
    release = ReleaseFactory(
        state=ReleaseState.CERTIFIED, scopes="launch/patient", launch_modes=["standalone"]
    )
    client = credentials.ensure_client(release.application, Environment.PRODUCTION)
    tenant = TenantFactory()
    enablements.enable(
        tenant,
        release.application,
        Access(["launch/patient"], ["clinician"]),
        terms_version=terms.VERSION,
        by=admin_of(tenant),
    )
    with pytest.raises(Conflict):
        launch.create(client_id=client.client_id, tenant=tenant, user=None)
    assert _count() == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"patient": "has space"}, "patient"),
        ({"encounter": "x" * 65}, "encounter"),
        ({"intent": "<script>"}, "intent"),
        ({"fhir_context": [{"reference": "Nothing/1"}]}, "fhir_context.0"),
        ({"fhir_context": [{"reference": "Encounter/1", "extra": 1}]}, "fhir_context.0"),
        ({"fhir_context": ["Encounter/1"]}, "fhir_context.0"),
        ({"fhir_context": [{"reference": "Encounter/1"}] * 21}, "fhir_context"),
    ],
)
def test_bad_context_values_are_refused_and_nothing_is_stored(enabled, changes, field) -> None:
    tenant, client_id, _release = enabled
    with pytest.raises(Invalid) as refused:
        launch.create(client_id=client_id, tenant=tenant, user=None, **changes)
    assert field in refused.value.fields
    assert _count() == 0
