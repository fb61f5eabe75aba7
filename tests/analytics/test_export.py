"""Exports: Parquet partitions and DuckDB marts from a real store, published atomically,
incremental, idempotent, and refused by the quality gate when the data is wrong."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from temporalio.client import Client, WorkflowFailureError

from activities.export import ExportActivities
from activities.retention import Retention, RetentionActivities
from analytics import export, quality
from analytics.privacy import Privacy
from runtime.worker import build_analytics_worker
from switchboard import routing
from switchboard.contract import EXPORT_INVALID
from switchboard.store import Store
from switchboard.store.tables import interactions
from tests.support.builders import random_phone
from tests.support.export_runs import HASH_KEY, run_export
from tests.support.pipeline import run_sms
from workflows import ExportWorkflow


def files(root: Path) -> dict[str, int]:
    """The published export's files and their sizes."""
    snapshot = export.current(root)
    assert snapshot is not None
    return {
        str(p.relative_to(snapshot)): p.stat().st_size
        for p in sorted(snapshot.rglob("*"))
        if p.is_file() and p.name not in ("manifest.json", "marts.duckdb")
    }


def marts(root: Path, sql: str) -> list[tuple[object, ...]]:
    snapshot = export.current(root)
    assert snapshot is not None
    con = duckdb.connect(str(snapshot / "marts.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


async def ingest(client: Client, store: Store, task_queue: str, texts: list[str]) -> str:
    """Run SMS from one new customer through the real pipeline; return the phone number."""
    phone = random_phone()
    await run_sms(client, store, task_queue, [(phone, text) for text in texts])
    return phone


async def test_an_export_is_partitioned_by_date_and_channel_with_marts_over_it(
    client: Client, store: Store, task_queue: str, tmp_path: Path
) -> None:
    phone = await ingest(client, store, task_queue, ["hello", "my invoice is wrong", "thanks"])
    root = tmp_path / "exports"
    staged = run_export(store, root)

    today = datetime.now(UTC).date()
    assert staged.rows["interactions"] == 3
    assert f"interactions/date={today}/channel=sms/data.parquet" in files(root)
    assert f"raw_event_counts/date={today}/provider=twilio/data.parquet" in files(root)
    assert marts(root, "SELECT channel, sum(interactions) FROM ingest_rate GROUP BY ALL") == [
        ("sms", 3)
    ]
    ((p50, p99),) = marts(root, "SELECT min(p50_ms), max(p99_ms) FROM latency")
    assert 0 <= p50 <= p99
    assert marts(
        root, "SELECT sum(received), sum(accepted), sum(failed), sum(refused) FROM error_rate"
    ) == [(3, 3, 0, 0)]
    ((conversations,),) = marts(root, "SELECT sum(conversations) FROM resolution_by_queue")
    assert conversations == 1

    # Privacy: the address as a keyed hash, the text dropped unless asked for.
    snapshot = export.current(root)
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT from_hash, text, channel FROM read_parquet('{snapshot}/interactions/**/*.parquet',"
        " hive_partitioning = true)"
    ).fetchall()
    assert {row[0] for row in rows} == {Privacy(HASH_KEY).address(phone)}
    assert phone not in str(rows) and {row[1] for row in rows} == {None}


async def test_exports_are_incremental_idempotent_and_atomic(
    client: Client, store: Store, task_queue: str, tmp_path: Path
) -> None:
    await ingest(client, store, task_queue, ["one", "two"])
    root = tmp_path / "exports"
    run_export(store, root)
    first = export.current(root)
    before = files(root)

    # Nothing changed: nothing is written, the same files and numbers stay published.
    again = run_export(store, root)
    assert not again.changed
    assert export.current(root) == first and files(root) == before

    # New data: only the changed partitions are rewritten; the old snapshot is untouched.
    old_file = next(first.rglob("interactions/**/data.parquet"))  # type: ignore[union-attr]
    old_bytes = old_file.read_bytes()
    await ingest(client, store, task_queue, ["three"])
    staged = run_export(store, root)
    today = datetime.now(UTC).date()
    assert f"interactions/date={today}/channel=sms" in staged.partitions
    assert all(f"date={today}" in p for p in staged.partitions)  # only what changed
    assert export.current(root) != first
    assert old_file.read_bytes() == old_bytes  # a reader of the old export saw no change
    assert marts(root, "SELECT sum(interactions) FROM ingest_rate") == [(3,)]
    assert (root / "current").is_symlink()


async def test_the_quality_gate_refuses_a_bad_batch_and_does_not_publish_it(
    client: Client, store: Store, task_queue: str, tmp_path: Path
) -> None:
    await ingest(client, store, task_queue, ["fine"])
    root = tmp_path / "exports"
    run_export(store, root)
    published = export.current(root)
    # A row no channel allows, and a persisted time before its receipt (negative latency).
    with store.engine.begin() as conn:
        conn.execute(
            interactions.update().values(
                channel="fax",
                received_at=interactions.c.persisted_at,
                persisted_at=interactions.c.received_at,
                updated_at=datetime.now(UTC) + timedelta(seconds=1),
            )
        )

    activities = ExportActivities(store, root, Privacy(HASH_KEY), routing.load().hours)
    retention = RetentionActivities(store, Retention())
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with build_analytics_worker(client, task_queue, executor, activities, retention):
            with pytest.raises(WorkflowFailureError) as failed:
                await client.execute_workflow(
                    ExportWorkflow.run, id=f"export-{task_queue}", task_queue=task_queue
                )
    error = failed.value.cause.cause  # type: ignore[union-attr]
    assert getattr(error, "type", None) == EXPORT_INVALID
    assert "interactions.channel: expect_column_values_to_be_in_set" in str(error)
    assert export.current(root) == published  # the bad batch was not published
    assert not any((root / "staging").iterdir())  # and not left behind
    files = [str(f) for f in quality.result_files(root)]
    kept = duckdb.connect().execute(
        'SELECT dataset, "column", success FROM read_parquet(?) WHERE NOT success', [files]
    )
    assert ("interactions", "channel", False) in kept.fetchall()


def test_an_empty_store_exports_empty_marts(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "exports"
    run_export(store, root)
    assert marts(root, "SELECT count(*) FROM ingest_rate") == [(0,)]
    assert os.path.islink(root / "current")
