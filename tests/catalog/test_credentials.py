"""Client credentials: ids per environment, secrets shown once, rotation, revocation."""

from __future__ import annotations

import datetime as dt

import pytest

from catalog import credentials
from catalog.models import ClientType, Environment, ReleaseState
from tests.factories.accounts import UserFactory
from tests.factories.catalog import ApplicationFactory, ReleaseFactory, member_of
from torget.db import utcnow
from torget.errors import Conflict, Forbidden, Invalid


@pytest.fixture
def secret_client(db_session):
    application = ApplicationFactory()
    ReleaseFactory(
        application=application,
        client_type=ClientType.CONFIDENTIAL_SECRET,
        state=ReleaseState.CERTIFIED,
    )
    client = credentials.ensure_client(application, Environment.PRODUCTION)
    return client, member_of(application.vendor)


def test_one_client_per_app_and_environment(db_session) -> None:
    application = ApplicationFactory()
    production = credentials.ensure_client(application, Environment.PRODUCTION)
    assert credentials.ensure_client(application, Environment.PRODUCTION) == production
    sandbox = credentials.ensure_client(application, Environment.SANDBOX)
    assert sandbox.client_id != production.client_id
    assert credentials.clients_of(application) == [production, sandbox]


def test_secret_is_shown_once_stored_hashed_and_authenticates(secret_client) -> None:
    client, member = secret_client
    issued = credentials.create_secret(client, by=member)
    assert issued.value.startswith("torget_cs_")
    assert issued.secret.secret_hash != issued.value
    assert issued.value not in repr(issued.secret.__dict__)
    assert credentials.authenticate(client.client_id, issued.value) == client
    assert credentials.authenticate(client.client_id, issued.value + "x") is None
    assert credentials.authenticate("someone-else", issued.value) is None
    assert credentials.authenticate(client.client_id, "") is None


def test_rotation_keeps_the_old_secret_for_the_grace_period(secret_client) -> None:
    client, member = secret_client
    old = credentials.create_secret(client, by=member)
    new = credentials.rotate_secret(client, by=member, grace_days=7)
    assert credentials.authenticate(client.client_id, old.value) == client
    assert credentials.authenticate(client.client_id, new.value) == client
    ends = old.secret.expires_at
    assert ends is not None
    assert dt.timedelta(days=6, hours=23) < ends - utcnow() <= dt.timedelta(days=7)
    old.secret.expires_at = utcnow() - dt.timedelta(seconds=1)  # the grace period is over
    assert credentials.authenticate(client.client_id, old.value) is None
    assert new.secret.expires_at is None

    with pytest.raises(Invalid):
        credentials.rotate_secret(client, by=member, grace_days=31)


def test_revoked_secret_stops_at_once(secret_client) -> None:
    client, member = secret_client
    issued = credentials.create_secret(client, by=member)
    credentials.revoke_secret(client, issued.secret.id, by=member)
    assert credentials.authenticate(client.client_id, issued.value) is None


def test_only_members_and_only_secret_clients_get_secrets(secret_client, db_session) -> None:
    client, _ = secret_client
    with pytest.raises(Forbidden):
        credentials.create_secret(client, by=UserFactory())
    public_app = ApplicationFactory()
    ReleaseFactory(application=public_app, state=ReleaseState.CERTIFIED)
    public_client = credentials.ensure_client(public_app, Environment.PRODUCTION)
    with pytest.raises(Conflict):
        credentials.create_secret(public_client, by=member_of(public_app.vendor))
