"""The embedded SQLite database under concurrent writers (gunicorn's workers)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

import torget.db  # installs the SQLite connection and transaction hooks


def test_read_then_write_transactions_wait_for_each_other(tmp_path: Path) -> None:
    """Two transactions that each read and then write both succeed.

    A deferred SQLite transaction that has read cannot take the write lock
    while another holds it; SQLite fails it at once ("database is locked")
    instead of waiting. Torget's transactions take the lock when they begin.
    """
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'concurrent.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE counter (n INTEGER NOT NULL)")
        connection.exec_driver_sql("INSERT INTO counter VALUES (0)")

    first_inside = threading.Event()
    errors: list[BaseException] = []

    def increment(after: threading.Event | None, pause: float) -> None:
        try:
            if after is not None:
                after.wait(timeout=5)
            with engine.begin() as connection:
                n = connection.exec_driver_sql("SELECT n FROM counter").scalar_one()
                first_inside.set()
                time.sleep(pause)  # the other transaction starts meanwhile
                connection.exec_driver_sql("UPDATE counter SET n = ?", (n + 1,))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
            first_inside.set()

    first = threading.Thread(target=increment, args=(None, 0.3))
    second = threading.Thread(target=increment, args=(first_inside, 0.0))
    first.start()
    second.start()
    first.join(timeout=20)
    second.join(timeout=20)

    assert errors == []
    with engine.connect() as connection:
        # Neither increment was lost: the second read what the first wrote.
        assert connection.exec_driver_sql("SELECT n FROM counter").scalar_one() == 2
    engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    engine.dispose()


def _holds_write_lock(path: Path) -> bool:
    """Whether some connection to the database at `path` holds its write lock now."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if "locked" not in str(error):
            raise
        return True
    else:
        other.execute("ROLLBACK")
        return False
    finally:
        other.close()


@pytest.mark.parametrize("shares_read", [False, True], ids=["a request", "a reading view"])
def test_only_views_that_read_leave_the_write_lock_to_others(
    tmp_path: Path, shares_read: bool
) -> None:
    path = tmp_path / "lock.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE counter (n INTEGER NOT NULL)")
    app = Flask(__name__)

    @app.route("/")
    def view() -> str:
        with engine.begin() as connection:
            connection.exec_driver_sql("SELECT n FROM counter").all()
            return "locked" if _holds_write_lock(path) else "shared"

    wrapped = torget.db.reads_without_write_lock(view) if shares_read else view
    app.view_functions["view"] = wrapped

    answer = app.test_client().get("/").get_data(as_text=True)

    assert answer == ("shared" if shares_read else "locked")
    assert not _holds_write_lock(path)  # and the transaction has ended
    engine.dispose()
