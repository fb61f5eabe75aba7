"""Engine creation: one pool per process; SQLite tuned for several writing processes.

Also the two things every writer needs from the engine: a write transaction, and an INSERT
that can skip or update a row already there.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError

from switchboard.store.turns import Turns

# Execution option that makes a SQLite transaction take the write lock at BEGIN.
WRITE = {"sqlite_write": True}

# The writers of this process to each SQLite file queue here, in turn, before SQLite's lock.
# SQLite's own busy handler polls: a waiting writer sleeps up to 100 ms between tries whoever
# released the lock, and the unlucky ones starve to the busy timeout ("database is locked")
# while others go first. A worker's sixteen activity threads on one file lost half their
# throughput that way; the busy timeout is now only for the other processes' writers.
_TURNS: dict[str, Turns] = {}
_WRITERS: weakref.WeakKeyDictionary[Engine, tuple[Turns, float]] = weakref.WeakKeyDictionary()


def create_store_engine(url: str, busy_timeout_s: float = 5.0) -> Engine:
    """Create the engine for `url`; for SQLite, WAL mode and a busy timeout on every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        key = str(Path(parsed.database).resolve())
        turns = _TURNS.setdefault(key, Turns())
    else:
        turns = Turns()
    # No statement parameters in errors: they are phone numbers, addresses and message text.
    engine = create_engine(url, connect_args={"timeout": busy_timeout_s}, hide_parameters=True)
    _WRITERS[engine] = (turns, busy_timeout_s)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred transaction that reads and then writes cannot wait for the write lock:
        # SQLite fails it at once with SQLITE_BUSY. Writers take the lock up front instead,
        # so the busy timeout applies; readers stay deferred and never block (WAL).
        immediate = conn.get_execution_options().get("sqlite_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes: committed on leaving, rolled back on an exception.

    On SQLite it waits its turn among this process's writers, then takes the write lock at
    BEGIN (see `create_store_engine`); a turn not come within the busy timeout fails as a lock
    SQLite did not grant would.
    """
    with _turn(engine), engine.connect().execution_options(**WRITE) as conn, conn.begin():
        yield conn


@contextmanager
def _turn(engine: Engine) -> Iterator[None]:
    writers = _WRITERS.get(engine)
    if writers is None:  # PostgreSQL: its row locks queue its writers
        yield
        return
    turns, timeout_s = writers
    if not turns.acquire(timeout_s):
        locked = sqlite3.OperationalError("database is locked")
        raise OperationalError("BEGIN IMMEDIATE", None, locked)
    try:
        yield
    finally:
        turns.release()


def upsert(bind: Engine | Connection, table: Table) -> Any:
    """An INSERT into `table` in the dialect of `bind`, with ON CONFLICT DO NOTHING/UPDATE."""
    # Typed Any: postgresql.Insert and sqlite.Insert both have on_conflict_do_nothing/_do_update,
    # with different signatures mypy cannot unify.
    if bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
