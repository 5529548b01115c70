"""Alembic environment: migrations run on the application's own engine.

Logging is left as Torget configured it (no fileConfig: it would disable the
application's loggers). Batch mode and the MetaData naming convention let one
revision run on SQLite and PostgreSQL alike.
"""

from alembic import context
from flask import current_app

from torget.db import UTCDateTime

migrate = current_app.extensions["migrate"]
target_metadata = migrate.db.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=str(migrate.db.engine.url),
        target_metadata=target_metadata,
        literal_binds=True,
        **migrate.configure_args,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    # A caller (the tests) may hand us a connection to migrate on.
    connectable = context.config.attributes.get("connection") or migrate.db.engine
    if hasattr(connectable, "connect") and not hasattr(connectable, "begin_nested"):
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def render_item(type_, obj, autogen_context):
    # Revisions use plain SQLAlchemy types so they never import application code.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=render_item,
        **migrate.configure_args,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
