from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from switchboard.store import Store
from switchboard.store.migrate import alembic_config
from switchboard.store.tables import metadata, raw_events
from tests.support.builders import sms_raw


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
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    # The one head of the migration scripts (a linear history: each feature chains its own).
    heads = ScriptDirectory.from_config(alembic_config(store.engine)).get_heads()
    assert [current] == heads


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


def test_upgrading_a_store_with_data_keeps_it(tmp_path: Path) -> None:
    """The migration path from the first schema: rows written under 0001 survive 0002."""
    store = Store.from_url(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(store.engine), "0001")
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO raw_events (provider, kind, event_key, received_at, url, "
                "content_type, fields) VALUES ('twilio', 'sms', 'SM1', '2026-11-01 09:00:00', "
                "'https://h/webhooks/twilio/sms', 'application/x-www-form-urlencoded', '[]')"
            )
        )
    store.migrate()
    with store.engine.connect() as conn:
        row = conn.execute(select(raw_events)).mappings().one()
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert row["event_key"] == "SM1" and row["headers"] is None
    assert diff == []
    store.close()
