"""purge_expired: raw payloads emptied, then every kind of row, blob and export copy deleted,
once past their retention; what is younger stays."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from sqlalchemy import Table, select, update
from temporalio.testing import ActivityEnvironment

from activities.export import ExportActivities
from activities.retention import Retention, RetentionActivities
from analytics import export
from analytics.privacy import Privacy
from switchboard import routing
from switchboard.blobs import BlobStore
from switchboard.contract import (
    ConversationEvent,
    ConversationState,
    ConversationStatus,
    EventKind,
    Identity,
    IdentityKind,
    MediaRef,
    PublishInput,
)
from switchboard.store import AuditEntry, AuditLog, ConversationStore, Store
from switchboard.store.store import PURGED
from switchboard.store.subscriptions import SubscriptionStore
from switchboard.store.tables import (
    conversation_events,
    conversations,
    customers,
    deliveries,
    identities,
    interactions,
    outbound_events,
    outbox,
    raw_events,
)
from tests.support.builders import random_phone, sms_interaction, sms_raw
from tests.support.export_runs import HASH_KEY, run_export

OLD = timedelta(days=40)
KEPT_FOR = Retention(payload_days=30, row_days=30)


@dataclass(frozen=True)
class Seeded:
    """One customer's message, conversation, reply and events out, all of one age."""

    customer_id: str
    interaction_id: str
    conversation_id: str
    outbox_id: str


def seed(store: Store, at: datetime, blob: str) -> Seeded:
    phone = random_phone()
    customer_id = store.resolve_customer(Identity(IdentityKind.PHONE, phone))
    interaction, raw = sms_interaction(customer_id, phone, at)
    # A file of the interaction (as an email's attachment is), linked to it when persisted.
    content = replace(interaction.content, media=[MediaRef(url=blob, content_type="image/png")])
    interaction = replace(interaction, content=content)
    store.persist_interaction(interaction, raw)
    conversation_id = str(uuid.uuid4())
    state = ConversationState(
        conversation_id=conversation_id,
        status=ConversationStatus.RESOLVED,
        queue="messaging",
        opened_at=at,
        resolved_at=at,
    )
    kinds = [
        (EventKind.OPENED, {"queue": "messaging", "channel": "sms"}),
        (
            EventKind.INTERACTION,
            {
                "interaction_id": interaction.interaction_id,
                "channel": "sms",
                "direction": "inbound",
            },
        ),
        (EventKind.RESOLVED, {}),
    ]
    events = [
        ConversationEvent(str(uuid.uuid4()), conversation_id, customer_id, kind, at, seq, detail)
        for seq, (kind, detail) in enumerate(kinds)
    ]
    ConversationStore(store.engine).record(customer_id, state, events, [interaction.interaction_id])
    outbox_id = str(uuid.uuid4())
    with store.engine.begin() as conn:
        conn.execute(
            outbox.insert().values(
                outbox_id=outbox_id,
                conversation_id=conversation_id,
                channel="sms",
                to_address=phone,
                body="your card is blocked",
                status="sent",
                created_at=at,
            )
        )
    SubscriptionStore(store.engine).dispatch()
    # What was written now is made as old as the message (the store stamps its own times).
    with store.engine.begin() as conn:
        for table, column, key in (
            (customers, "created_at", customer_id),
            (identities, "created_at", customer_id),
            (conversations, "updated_at", conversation_id),
        ):
            ident = table.c.customer_id if table is not conversations else table.c.conversation_id
            conn.execute(update(table).where(ident == key).values({column: at}))
        about = [interaction.interaction_id, conversation_id]
        mine = outbound_events.c.interaction_id.in_(about) | outbound_events.c.conversation_id.in_(
            about
        )
        conn.execute(update(outbound_events).where(mine).values(created_at=at))
        conn.execute(
            update(deliveries)
            .where(deliveries.c.event_id.in_(select(outbound_events.c.event_id).where(mine)))
            .values(created_at=at)
        )
    return Seeded(customer_id, interaction.interaction_id, conversation_id, outbox_id)


def ids(store: Store, table: Table, column: str) -> set[str]:
    with store.engine.connect() as conn:
        return {row[0] for row in conn.execute(select(table.c[column]))}


def exported(root: Path, dataset: str, column: str) -> set[str]:
    snapshot = export.current(root)
    query = f"SELECT {column} FROM read_parquet(?, hive_partitioning = true)"
    rows = duckdb.connect().execute(query, [f"{snapshot}/{dataset}/**/*.parquet"]).fetchall()
    return {row[0] for row in rows}


def aged(path: Path, at: datetime) -> None:
    os.utime(path, (at.timestamp(), at.timestamp()))


def test_retention_reaches_every_kind_of_row_blob_and_export_copy(
    store: Store, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    blobs = BlobStore(tmp_path / "blobs")
    shared, orphan, fresh = (blobs.put(data) for data in (b"shared", b"orphan", b"fresh"))
    for ref in (shared, orphan):  # written long ago; `shared` is named by a recent message
        aged(tmp_path / "blobs" / ref[-64:-62] / ref[-64:], now - OLD)
    SubscriptionStore(store.engine).create("https://crm.example.com/h", ["*"], None, False)
    old = seed(store, now - OLD, orphan)
    young = seed(store, now - timedelta(days=1), shared)
    root = tmp_path / "exports"
    run_export(store, root)
    old_events = _event_ids_of(store, old.conversation_id)
    assert old_events and old_events <= exported(root, "conversation_events", "event_id")
    stale = root / "snapshots" / "20000101T000000000000-old"
    abandoned = root / "staging" / "abandoned"
    for copy in (stale, abandoned):
        copy.mkdir(parents=True)
        aged(copy, now - OLD)

    result = RetentionActivities(store, KEPT_FOR, blobs, root).purge()

    for table, column, old_id, young_id in (
        (interactions, "interaction_id", old.interaction_id, young.interaction_id),
        (customers, "customer_id", old.customer_id, young.customer_id),
        (identities, "customer_id", old.customer_id, young.customer_id),
        (conversations, "conversation_id", old.conversation_id, young.conversation_id),
        (conversation_events, "conversation_id", old.conversation_id, young.conversation_id),
        (outbox, "outbox_id", old.outbox_id, young.outbox_id),
        (outbound_events, "conversation_id", old.conversation_id, young.conversation_id),
    ):
        kept = ids(store, table, column)
        assert old_id not in kept and young_id in kept, table.name
    young_events = ids(store, outbound_events, "event_id")
    assert ids(store, deliveries, "event_id") == young_events
    assert len(ids(store, raw_events, "event_key")) == 1
    assert result.deleted["interactions"] == 1 and result.deleted["raw_events"] == 1
    assert result.deleted["media"] == 1
    assert result.deleted["deliveries"] == result.deleted["outbound_events"] > 0
    assert result.rows_deleted == sum(result.deleted.values())
    assert result.blobs_deleted == 1
    assert {blobs.get(ref) for ref in (shared, fresh)} == {b"shared", b"fresh"}
    assert not (tmp_path / "blobs" / orphan[-64:-62] / orphan[-64:]).exists()
    assert result.export_copies_removed == 2
    assert not stale.exists() and not abandoned.exists() and export.current(root) is not None

    # The next export (as ExportWorkflow's activities run it) drops what the store dropped and
    # keeps no older copy.
    exports = ExportActivities(store, root, Privacy(HASH_KEY), routing.load().hours)
    ActivityEnvironment().run(exports.publish, PublishInput(exports.stage()))
    assert exported(root, "interactions", "interaction_id") == {young.interaction_id}
    assert exported(root, "conversation_events", "event_id").isdisjoint(old_events)
    assert exported(root, "conversations", "conversation_id") == {young.conversation_id}
    old_day = (now - OLD).date()
    snapshot = export.current(root)
    assert snapshot is not None and not list(snapshot.rglob(f"date={old_day}"))
    assert [p.name for p in (root / "snapshots").iterdir()] == [snapshot.name]


def _event_ids_of(store: Store, conversation_id: str) -> set[str]:
    with store.engine.connect() as conn:
        query = select(conversation_events.c.event_id).where(
            conversation_events.c.conversation_id == conversation_id
        )
        return set(conn.execute(query).scalars())


def test_retention_empties_old_payloads_before_deleting_rows(store: Store) -> None:
    old, recent = sms_raw(), sms_raw()
    old.received_at -= timedelta(days=40)
    for raw in (old, recent):
        store.record_failure(raw, "kept for the test")
    purge = RetentionActivities(store, Retention(payload_days=30)).purge
    assert purge().payloads_purged == 1
    assert purge().payloads_purged == 0  # already empty
    with store.engine.connect() as conn:
        rows = {r.event_key: r for r in conn.execute(select(raw_events))}
    assert rows[old.event_key].fields == [] and rows[old.event_key].url == PURGED
    assert rows[recent.event_key].fields != []


def test_nothing_is_purged_by_default(store: Store, tmp_path: Path) -> None:
    old = sms_raw()
    old.received_at -= timedelta(days=4000)
    store.record_failure(old, "kept for the test")
    blobs = BlobStore(tmp_path / "blobs")
    ref = blobs.put(b"kept")
    aged(tmp_path / "blobs" / ref[-64:-62] / ref[-64:], datetime.now(UTC) - timedelta(days=4000))
    result = RetentionActivities(store, Retention(), blobs, tmp_path / "exports").purge()
    assert (result.payloads_purged, result.rows_deleted, result.blobs_deleted) == (0, 0, 0)
    assert blobs.get(ref) == b"kept"


def test_audit_rows_are_kept_for_their_own_limit_then_deleted(store: Store) -> None:
    now = datetime.now(UTC)
    log = AuditLog(store)
    for age, target in ((timedelta(days=400), "old"), (timedelta(days=300), "young")):
        log.record(
            AuditEntry("POST", "/api/keys", 201, "key:bootstrap", target=target, at=now - age)
        )
    # The data's own limit (30 days) does not reach the audit log, which keeps its year.
    result = RetentionActivities(store, replace(KEPT_FOR, audit_days=365)).purge()
    assert [row["target"] for row in log.list()] == ["young"]
    assert result.deleted["audit_log"] == 1
    assert result.rows_deleted == sum(result.deleted.values())
