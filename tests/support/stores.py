"""Fresh, migrated stores: a SQLite file, or a database of its own on a throwaway PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine

from switchboard.store import Store


@contextmanager
def sqlite_store(directory: Path) -> Iterator[Store]:
    store = Store.from_url(f"sqlite:///{directory / 'switchboard.db'}", busy_timeout_s=2.0)
    store.migrate()
    try:
        yield store
    finally:
        store.close()


@contextmanager
def postgresql_store(server: str) -> Iterator[Store]:
    """A database created for the caller on the cluster at `server`, dropped afterwards."""
    name = "t_" + uuid.uuid4().hex
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    store = Store.from_url(f"{server}/{name}")
    try:
        store.migrate()
        yield store
    finally:
        store.close()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()
