"""Engine creation: one pool per process; SQLite tuned for several writing processes.

Also the two things every writer needs from the engine: a write transaction, and an INSERT
that can skip or update a row already there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url

# Execution option that makes a SQLite transaction take the write lock at BEGIN.
WRITE = {"sqlite_write": True}


def create_store_engine(url: str, busy_timeout_s: float = 5.0) -> Engine:
    """Create the engine for `url`; for SQLite, WAL mode and a busy timeout on every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # No statement parameters in errors: they are phone numbers, addresses and message text.
    engine = create_engine(url, connect_args={"timeout": busy_timeout_s}, hide_parameters=True)

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

    On SQLite it takes the write lock at BEGIN (see `create_store_engine`).
    """
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        yield conn


def upsert(bind: Engine | Connection, table: Table) -> Any:
    """An INSERT into `table` in the dialect of `bind`, with ON CONFLICT DO NOTHING/UPDATE."""
    # Typed Any: postgresql.Insert and sqlite.Insert both have on_conflict_do_nothing/_do_update,
    # with different signatures mypy cannot unify.
    if bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
