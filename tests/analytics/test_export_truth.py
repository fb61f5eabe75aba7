"""Exports that stay true to the store: a moved interaction leaves its old partition, deleted
rows leave the export, and a changed row is merged into its partition without re-reading it.
On both store backends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select, update

from analytics import export, quality, resolution
from analytics.export.schemas import CONVERSATIONS_SCHEMA
from analytics.privacy import Privacy
from switchboard import routing
from switchboard.contract import (
    Channel,
    Content,
    ConversationEvent,
    ConversationState,
    ConversationStatus,
    CustomerInteraction,
    Direction,
    EventKind,
    Identity,
    IdentityKind,
    Provider,
    Route,
    Status,
)
from switchboard.store import ConversationStore, Store
from switchboard.store.tables import interactions
from tests.support.builders import sms_raw
from tests.support.scenario import at, write_scenario
from tests.support.stores import postgresql_store

DAY = datetime(2026, 11, 23, 10, tzinfo=UTC)


def persist(store: Store, occurred_at: datetime) -> str:
    customer = store.resolve_customer(Identity(IdentityKind.EMAIL, "a@x.com"))
    interaction_id = str(uuid.uuid4())
    store.persist_interaction(
        CustomerInteraction(
            interaction_id=interaction_id,
            customer_id=customer,
            channel=Channel.SMS,
            direction=Direction.INBOUND,
            provider=Provider.TWILIO,
            provider_message_id=f"SM{interaction_id}",
            from_address="+1",
            to_address="+2",
            occurred_at=occurred_at,
            received_at=occurred_at,
            content=Content(),
            status=Status.COMPLETED,
            route=Route("q", 1),
        ),
        sms_raw(),
    )
    return interaction_id


def run_export(store: Store, root: Path, checked: list[str] | None = None) -> export.Staged:
    """Stage, validate, publish; `checked` receives the interaction ids the gate checked."""
    staged = export.stage(
        store.engine, root, Privacy(b"k"), routing.load().hours, datetime.now(UTC)
    )
    if staged.changed:
        frames = quality.read_batch(staged.path, staged.partitions)
        if checked is not None:
            checked.extend(frames["interactions"].interaction_id)
        results = quality.validate_frames("t", frames)
        assert quality.failures(results) == []
        export.publish(root, staged, quality.as_dicts(results))
    return staged


def exported(root: Path) -> list[tuple[str, str]]:
    """(day, interaction id) of every exported interaction."""
    snapshot = export.current(root)
    assert snapshot is not None
    return sorted(
        (str(day), interaction)
        for day, interaction in duckdb.connect()
        .execute(
            "SELECT date, interaction_id FROM read_parquet(?, hive_partitioning = true)",
            [str(snapshot / "interactions" / "*" / "*" / "data.parquet")],
        )
        .fetchall()
    )


def touch(store: Store, interaction_id: str, **values: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            update(interactions)
            .where(interactions.c.interaction_id == interaction_id)
            .values(updated_at=datetime.now(UTC) + timedelta(seconds=1), **values)
        )


def test_a_moved_interaction_leaves_its_old_partition(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "exports"
    moved, stays = persist(store, DAY), persist(store, DAY)
    run_export(store, root)
    touch(store, moved, occurred_at=DAY - timedelta(days=1))
    run_export(store, root)
    assert exported(root) == sorted([("2026-11-22", moved), ("2026-11-23", stays)])


def test_deleted_interactions_leave_the_export(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "exports"
    gone, kept = persist(store, DAY - timedelta(days=2)), persist(store, DAY)
    lonely = persist(store, DAY - timedelta(days=5))
    run_export(store, root)
    with store.engine.begin() as conn:
        conn.execute(interactions.delete().where(interactions.c.interaction_id.in_([gone, lonely])))
    persist(store, DAY + timedelta(hours=1))  # something new, so the export runs
    run_export(store, root)
    days = {day for day, _ in exported(root)}
    assert days == {"2026-11-23"} and kept in {i for _, i in exported(root)}
    snapshot = export.current(root)
    assert snapshot is not None
    assert not (snapshot / "interactions" / "date=2026-11-18").exists()  # emptied: removed


def test_a_changed_row_is_merged_and_only_it_is_checked(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "exports"
    ids = [persist(store, DAY + timedelta(minutes=n)) for n in range(3)]
    run_export(store, root)
    touch(store, ids[1], delivery_status="delivered")
    checked: list[str] = []
    staged = run_export(store, root, checked)
    assert staged.partitions == ["interactions/date=2026-11-23/channel=sms"]
    assert [i for _, i in exported(root)] == sorted(ids)
    assert checked == [ids[1]]
    snapshot = export.current(root)
    assert snapshot is not None
    status = duckdb.connect().execute(
        "SELECT delivery_status FROM read_parquet(?) WHERE interaction_id = ?",
        [str(snapshot / "interactions" / "*" / "*" / "data.parquet"), ids[1]],
    )
    assert status.fetchall() == [("delivered",)]


@pytest.mark.postgresql
def test_a_late_commit_below_the_watermark_is_not_skipped(postgres: str, tmp_path: Path) -> None:
    """A writer whose transaction began first commits after a later one and after an export;
    its row, older than the maximum the export saw, reaches the next export.

    PostgreSQL only: SQLite's writers take turns, so no commit lands below a published maximum.
    """
    with postgresql_store(postgres) as store:
        root = tmp_path / "exports"
        persist(store, DAY)
        run_export(store, root)
        late = store.engine.connect()
        slow = late.begin()
        late.execute(select(1))  # the transaction has begun
        late_id = str(uuid.uuid4())
        customer = store.resolve_customer(Identity(IdentityKind.EMAIL, "a@x.com"))
        late.execute(
            interactions.insert().values(
                interaction_id=late_id,
                customer_id=customer,
                channel="sms",
                direction="inbound",
                provider="twilio",
                provider_message_id=f"SM{late_id}",
                from_address="+1",
                to_address="+2",
                occurred_at=DAY,
                received_at=DAY,
                persisted_at=DAY,
                updated_at=datetime.now(UTC),
                status="completed",
                content={},
                route_queue="q",
                route_priority=1,
            )
        )
        early = persist(store, DAY)  # begins after, commits first, with a later updated_at
        run_export(store, root)
        assert early in {i for _, i in exported(root)}
        slow.commit()
        late.close()
        run_export(store, root)
        assert late_id in {i for _, i in exported(root)}


def test_a_full_export_rebuilds_every_partition(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "exports"
    ids = [persist(store, DAY - timedelta(days=n)) for n in range(3)]
    run_export(store, root)
    assert not run_export(store, root).changed  # nothing changed: nothing written
    staged = export.stage(
        store.engine, root, Privacy(b"k"), routing.load().hours, datetime.now(UTC), full=True
    )
    assert staged.changed and staged.rows["interactions"] == 3
    assert len([p for p in staged.partitions if p.startswith("interactions/")]) == 3
    export.publish(root, staged, [])
    assert sorted(i for _, i in exported(root)) == sorted(ids)


def test_only_the_conversations_that_may_have_changed_are_recomputed(
    store: Store, tmp_path: Path
) -> None:
    """The scenario's nine conversations; then an agent answers c4. Recomputed: c4 (a new
    event) and c7 (its FCR is undecided until its window ends); the seven others are kept."""
    customers = write_scenario(store)
    root = tmp_path / "exports"
    now = datetime(2026, 12, 1, tzinfo=UTC)
    stage_at = export.stage(store.engine, root, Privacy(b"k"), routing.load().hours, now)
    export.publish(root, stage_at, [])
    ConversationStore(store.engine).record(
        customers["C"],
        ConversationState(
            conversation_id="c4",
            status=ConversationStatus.OPEN,
            queue="support",
            opened_at=at(25, 12),
        ),
        [
            ConversationEvent(
                str(uuid.uuid4()), "c4", customers["C"], EventKind.FIRST_RESPONSE, at(30, 10)
            )
        ],
        [],
    )
    staged = export.stage(store.engine, root, Privacy(b"k"), routing.load().hours, now)
    assert staged.rows["conversations"] == 2
    merged = pq.read_table(staged.path / "conversations" / "data.parquet")
    whole = resolution.conversations_table(
        store.engine, routing.load().hours, now, CONVERSATIONS_SCHEMA
    )
    assert merged.equals(whole)
    assert merged.filter(pc.equal(merged["conversation_id"], "c4"))["answered"][0].as_py()


def test_conversations_begun_after_an_export_without_any_are_all_found(
    store: Store, tmp_path: Path
) -> None:
    """An export before any conversation (its watermark has no event time) is no reason to
    recompute every conversation from every contact at the next one: the new ones are found."""
    persist(store, DAY)
    root = tmp_path / "exports"
    now = datetime(2026, 12, 1, tzinfo=UTC)
    export.publish(
        root, export.stage(store.engine, root, Privacy(b"k"), routing.load().hours, now), []
    )
    assert export.published_watermark(root).events_at is None
    write_scenario(store)
    staged = export.stage(store.engine, root, Privacy(b"k"), routing.load().hours, now)
    merged = pq.read_table(staged.path / "conversations" / "data.parquet")
    whole = resolution.conversations_table(
        store.engine, routing.load().hours, now, CONVERSATIONS_SCHEMA
    )
    assert merged.num_rows == staged.rows["conversations"] == whole.num_rows > 0
    assert merged.equals(whole)
