"""`torget demo load`: the ten FKJ municipalities, the sandbox, and a user for every role."""

from __future__ import annotations

import sqlalchemy as sa

from accounts import sign_in
from accounts.demo import DEMO_PASSWORD, DEMO_USERS
from accounts.models import Membership, Organisation, User
from marketplace.demo import FKJ_MUNICIPALITIES, SANDBOX
from marketplace.models import Tenant
from tests.conftest import make_app
from torget.db import db


def _snapshot():
    return {
        model.__name__: sorted(
            tuple(str(getattr(row, c.key)) for c in sa.inspect(model).columns)
            for row in db.session.scalars(sa.select(model))
        )
        for model in (Organisation, Tenant, User, Membership)
    }


def test_demo_load_is_idempotent(runner):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "admin.oslo@torget.example" in first.output
    assert DEMO_PASSWORD in first.output
    before = _snapshot()
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0, second.output
    db.session.expire_all()
    assert _snapshot() == before
    assert len(FKJ_MUNICIPALITIES) == 10
    slugs = {row[1] for row in before["Organisation"]}
    assert {slug for slug, _name, _number, _pop in (*FKJ_MUNICIPALITIES, SANDBOX)} <= slugs
    assert len(before["Tenant"]) == len(FKJ_MUNICIPALITIES) + 1
    assert len(before["User"]) == len(DEMO_USERS)


def test_every_demo_user_can_sign_in(runner, app):
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    with app.test_request_context():
        for demo in DEMO_USERS:
            assert sign_in.authenticate(demo.email, DEMO_PASSWORD) is not None, demo.email


def test_demo_data_is_refused_in_production(fresh_database, tmp_path):
    app = make_app(fresh_database.new(), tmp_path, env="production")
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code != 0
    assert "TORGET_DEMO" in result.output
    with app.app_context():
        db.engine.dispose()
