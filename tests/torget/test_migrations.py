"""The schema comes from Alembic alone, and matches the models on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from tests.conftest import make_app
from torget.db import db


def _differences(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, db.metadata)


def test_migrating_an_empty_database_gives_exactly_the_models(fresh_database, tmp_path):
    app = make_app(fresh_database.new(), tmp_path)
    with app.app_context():
        upgrade()
    assert _differences(app) == []
    with app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
        db.engine.dispose()
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_migrations_go_down_to_nothing_and_back_up(fresh_database, tmp_path):
    app = make_app(fresh_database.new(), tmp_path)
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        left = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        upgrade()
        db.engine.dispose()
    assert left == set()
    assert _differences(app) == []
