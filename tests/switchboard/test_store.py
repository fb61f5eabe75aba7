from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from switchboard.contract import Content, MediaRef, Provider, RawEvent
from switchboard.providers import push
from switchboard.store import Store
from switchboard.store.migrate import alembic_config
from switchboard.store.rows import interaction_row, raw_event_row
from switchboard.store.store import PURGED
from switchboard.store.tables import interactions, media, metadata, raw_events
from tests.support.builders import sms_interaction, sms_raw, status_fields


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


def test_upgrading_links_the_raw_events_and_files_already_stored(tmp_path: Path) -> None:
    """0017 links what the revisions before it stored: every raw event to its interaction (a
    push status keyed by its webhook-id, a status callback, a purged one by its key), every file
    in `media`."""
    store = Store.from_url(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(store.engine), "0016")
    at = datetime(2026, 12, 1, 9, tzinfo=UTC)
    customer = str(uuid.uuid4())
    sms, sms_event = sms_interaction(customer, "+14155550123", at, body="see photo")
    image = "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME1"
    sms = replace(sms, content=Content(text="see photo", media=[MediaRef(image, "image/jpeg")]))
    status = replace(
        sms_event,
        kind="sms_status",
        event_key=f"{sms.provider_message_id}:status:delivered",
        fields=status_fields(sms.provider_message_id, "delivered"),
    )
    purged = replace(status, event_key=f"{sms.provider_message_id}:status:sent", url=PURGED)
    purged = replace(purged, fields=[])
    attachment, raw_mime = "blob:sha256:" + "a" * 64, "blob:sha256:" + "b" * 64
    email, _ = sms_interaction(customer, "+14155550123", at)
    email = replace(
        email,
        interaction_id=str(uuid.uuid4()),
        provider=Provider.SENDGRID,
        provider_message_id="m1@mail.example.com",
        content=Content(text="hi", media=[MediaRef(attachment, "application/pdf", "a.pdf", 3)]),
    )
    email_event = RawEvent(
        Provider.SENDGRID,
        "email",
        "m1@mail.example.com",
        at,
        "https://h",
        "multipart/form-data",
        [("key", "m1@mail.example.com"), ("from", "kim@example.com"), ("raw", raw_mime)],
    )
    notification, _ = sms_interaction(customer, "+14155550123", at)
    notification = replace(
        notification,
        interaction_id=str(uuid.uuid4()),
        provider=Provider.PUSH,
        provider_message_id="n-1",
    )
    body = json.dumps(
        {"type": "push.delivered", "data": {"user_id": "u1", "notification_id": "n-1"}}
    )
    push_event = RawEvent(
        Provider.PUSH,
        "push",
        "msg_webhook1",
        at,
        "https://h",
        "application/json",
        push.raw_fields("msg_webhook1", "1764000000", body),
    )
    with store.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO customers (customer_id, created_at) VALUES (:c, :at)"),
            {"c": customer, "at": at},
        )
        for interaction in (sms, email, notification):
            conn.execute(interactions.insert().values(**interaction_row(interaction, at)))
        for raw in (sms_event, status, purged, email_event, push_event):
            conn.execute(raw_events.insert().values(**raw_event_row(raw, None)))
    store.migrate()
    with store.engine.connect() as conn:
        links = dict(
            conn.execute(select(raw_events.c.event_key, raw_events.c.interaction_id)).all()
        )
        files = {(row.interaction_id, row.kind): row for row in conn.execute(select(media))}
    assert links == {
        sms_event.event_key: sms.interaction_id,
        status.event_key: sms.interaction_id,
        purged.event_key: sms.interaction_id,
        email_event.event_key: email.interaction_id,
        "msg_webhook1": notification.interaction_id,
    }
    assert files[(sms.interaction_id, "mms")].source_url == image
    assert files[(sms.interaction_id, "mms")].position == 0
    assert files[(email.interaction_id, "attachment")].blob_ref == attachment
    assert files[(email.interaction_id, "raw")].blob_ref == raw_mime
    assert files[(email.interaction_id, "raw")].position is None
    store.close()
