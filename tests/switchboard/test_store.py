from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text

from switchboard.store import Store
from switchboard.store.tables import metadata, raw_events
from tests.helpers import sms_raw


def test_migrations_create_exactly_the_declared_tables(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    assert set(inspect(store.engine).get_table_names()) >= {
        "customers",
        "identities",
        "interactions",
        "raw_events",
        "alembic_version",
    }


def test_migrating_twice_is_harmless(store: Store) -> None:
    store.migrate()
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'x.db'}", busy_timeout_s=3.0)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 3000
    store.close()


def test_failures_are_archived_once_with_their_reason(store: Store) -> None:
    raw = sms_raw()
    store.record_failure(raw, "missing required field From")
    store.record_failure(raw, "missing required field From")
    with store.engine.connect() as conn:
        rows = conn.execute(select(raw_events)).mappings().all()
    assert len(rows) == 1
    assert rows[0]["error"] == "missing required field From"
    assert [tuple(pair) for pair in rows[0]["fields"]] == raw.fields
