"""The database handle and the session rules.

One transaction per request: services `add` and `flush`, never `commit`; the
shell commits once after the view returned, and rolls back when it raised.
A CLI command is one unit of work by the same rule (`unit_of_work`). The one
exception is `bookkeeping` (a token's last-used time) in a view that reads
without SQLite's write lock: it is written after the answer's commit.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, ParamSpec, TypeVar

from flask import Flask, Response, g, has_request_context
from flask_babel import gettext as _
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    DateTime,
    Engine,
    Enum,
    Executable,
    MetaData,
    TextClause,
    bindparam,
    event,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.types import TypeDecorator

from torget.errors import Conflict, DomainError, PreconditionFailed, Unavailable, render_error

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

# Constraint names are stable across SQLite and PostgreSQL, so Alembic's batch
# mode can find and alter them on both.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every database.

    SQLite keeps no offset; PostgreSQL keeps `timestamptz`. Both hand back an
    aware UTC datetime, and a naive one is refused on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store aware UTC datetimes only")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def enum_column(enum: type[StrEnum]) -> Enum:
    """A StrEnum stored by value, as a plain string on every database."""
    return Enum(
        enum,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    # SQLite ignores foreign keys unless asked, per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    # WAL: a reader (the CLI, a backup) never waits for a writer.
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL still survives a crash of the process; only a power
    # loss may undo the last commits. FULL syncs at every commit, which
    # doubled the cost of a token (bench/token.py).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # The pysqlite savepoint recipe (SQLAlchemy's SQLite dialect docs): stop the
    # driver's own implicit BEGIN so SAVEPOINT and transactional DDL work.
    dbapi_connection.isolation_level = None


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(connection: Any) -> None:
    if connection.dialect.name != "sqlite":
        return
    if has_request_context() and g.get("torget_shares_read"):
        connection.exec_driver_sql("BEGIN")  # see reads_without_write_lock
        return
    # IMMEDIATE takes the write lock up front. A deferred transaction that
    # reads and then writes (a session's last-seen time, a token's last
    # use) fails at once with "database is locked" when another worker
    # writes meanwhile; busy_timeout cannot help it. The embedded database
    # thereby runs one writing transaction at a time; production runs PostgreSQL.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def reads_without_write_lock(view: Callable[P, R]) -> Callable[P, R]:
    """Let this view's transaction on SQLite begin without the write lock, beside other readers.

    For views that only read (introspection): in WAL mode readers run side by
    side instead of one at a time. The view must not write after it has read
    (SQLite refuses a write on a snapshot another worker has since moved past):
    it writes first thing after a rollback (an audited refusal), or hands the
    write to `bookkeeping`. Innermost of the view's decorators, so that a rate
    limit's writes before it keep their lock. PostgreSQL is unaffected.
    """

    @functools.wraps(view)
    def shares_read(*args: P.args, **kwargs: P.kwargs) -> R:
        g.torget_shares_read = True
        return view(*args, **kwargs)

    return shares_read


def needs_write_lock() -> None:
    """This request of a `reads_without_write_lock` view will write after reading after all.

    Call it before the request's first statement: its transaction then takes
    the write lock as every other request's does.
    """
    g.torget_shares_read = False


def bookkeeping(statement: Executable) -> None:
    """Run a write the answer does not depend on (a token's last-used time).

    In a view that reads without the write lock it runs after the request's
    commit, in a transaction of its own, and is dropped with a warning when the
    database refuses it; elsewhere now, in the request's transaction.
    """
    if has_request_context() and g.get("torget_shares_read"):
        g.setdefault("torget_bookkeeping", []).append(statement)
    else:
        db.session.execute(statement)


def _run_bookkeeping() -> None:
    for statement in g.pop("torget_bookkeeping", ()):
        try:
            db.session.execute(statement)
            db.session.commit()
        except DBAPIError:
            db.session.rollback()
            log.warning("bookkeeping write dropped", exc_info=True)


def init_app(app: Flask) -> None:
    db.init_app(app)
    app.after_request(_commit)
    # Raised by a flush inside a view: the same answers as at commit below.
    for exc_type in (DataError, IntegrityError, OperationalError, StaleDataError):
        app.register_error_handler(exc_type, _on_database_error)


def _as_domain_error(exc: Exception) -> DomainError:
    if isinstance(exc, StaleDataError):
        # A row's version_id moved on under us: someone else saved first.
        return PreconditionFailed()
    if isinstance(exc, DataError):
        # PostgreSQL refuses what SQLite takes (a NUL character in a URL or a
        # field, a number beyond a column's range): the input's fault, not ours.
        return DomainError(_("The input holds a value the database cannot store."))
    return Conflict() if isinstance(exc, IntegrityError) else Unavailable()


def _on_database_error(exc: Exception) -> Response:
    g.torget_rollback = True
    return render_error(_as_domain_error(exc))


def keep_writes_on_server_error() -> None:
    """Commit this request's writes even though it answers 5xx (only what it wrote since:
    the caller rolled back first). For an audit record of an upstream failure."""
    g.torget_keep_writes = True


def _commit(response: Response) -> Response:
    # The error handlers set the flag: a request that raised writes nothing.
    server_error = response.status_code >= 500 and not g.get("torget_keep_writes")
    if g.get("torget_rollback") or server_error:
        db.session.rollback()
        return response
    try:
        db.session.commit()
    except (DataError, IntegrityError, OperationalError, StaleDataError) as exc:
        # A constraint a service did not flush early, a concurrent edit, or the
        # database went away: nothing was written, and the client hears so
        # instead of a 500.
        db.session.rollback()
        return render_error(_as_domain_error(exc))
    _run_bookkeeping()
    return response


def spend_once(
    key: InstrumentedAttribute[str], value: str, *conditions: Any, now: dt.datetime
) -> tuple[bool, Any]:
    """Mark the row whose `key` is `value` used now, if it is unused and `conditions` hold.

    For single-use credentials (launch contexts, codes, refresh tokens): one
    conditional UPDATE of `used_at` decides, so of two requests racing on two
    nodes exactly one wins. Returns whether this call spent it, and the row
    as it stands now (None when there is none), for the caller to tell a
    replay from an unknown value.
    """
    model = key.class_
    spent = db.session.execute(
        update(model)
        .where(key == value, model.used_at.is_(None), *conditions)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    row = db.session.scalar(
        select(model).where(key == value).execution_options(populate_existing=True)
    )
    return spent.rowcount == 1 and row is not None, row


def insert_once(model: type, **values: Any) -> bool:
    """Insert a row unless one with the same unique key exists; whether this call inserted it.

    One statement and no savepoint: the unique constraint decides between
    racing nodes, and a conflict leaves the request's transaction usable.
    """
    connection = db.session.connection()  # plain Core: the ORM adds only time here
    statement = _insert_once_statement(model, tuple(sorted(values)), connection.dialect.name)
    return connection.execute(statement, values).first() is not None


@functools.cache
def _insert_once_statement(model: type, columns: tuple[str, ...], dialect_name: str) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = (
        dialect.insert(model)
        .values({name: bindparam(name) for name in columns})
        .on_conflict_do_nothing()
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT that returns its key.
        .returning(*model.__table__.primary_key.columns)  # type: ignore[attr-defined]
    )
    return cacheable(statement, dialect_name)


_NAMED_PARAMETERS = {
    "sqlite": SQLiteDialect(paramstyle="named"),
    # The base dialect, not psycopg's: that one writes casts (`:day::DATE`) text cannot parse.
    "postgresql": PGDialect(paramstyle="named"),
}


def cacheable(statement: Any, dialect_name: str) -> TextClause:
    """`statement` as SQL text with its parameters' types, for statements built once.

    SQLAlchemy 2.0 cannot cache an INSERT … ON CONFLICT: it compiles one afresh
    at every execution, which cost about a tenth of a token's CPU. Text is
    cached like any other statement, and the typed parameters keep what the
    column types do to values (UTC timestamps, dates on SQLite).
    """
    compiled = statement.compile(dialect=_NAMED_PARAMETERS[dialect_name])
    sql = compiled.string
    used = [
        (name, parameter)
        for name, parameter in compiled.binds.items()
        if re.search(rf":{re.escape(name)}\b", sql)
    ]
    return text(sql).bindparams(
        *(
            bindparam(name, type_=parameter.type)
            if parameter.required
            else bindparam(name, parameter.value, type_=parameter.type)
            for name, parameter in used
        )
    )


def add_unique(instance: Any, conflict_detail: str) -> None:
    """Add and flush `instance` in a savepoint; a uniqueness violation is a Conflict.

    The flush happens now, not at commit, so the caller hears of a duplicate
    while it can still say which one, and the rest of the request is kept.
    """
    try:
        with db.session.begin_nested():
            db.session.add(instance)
    except IntegrityError:
        raise Conflict(conflict_detail) from None


@contextmanager
def unit_of_work() -> Iterator[None]:
    """A CLI command's transaction: commit when the block succeeds, else roll back."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
