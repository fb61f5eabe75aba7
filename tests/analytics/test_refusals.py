"""Refused deliveries in the analytics: a dataset of the export, checked by the quality gate,
and counted by the one error-rate definition the marts and `switchboard metrics` share."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from analytics import export, metrics, quality
from analytics.export.counts import delivery_tables
from analytics.export.schemas import CONVERSATIONS_SCHEMA, REFUSED_SCHEMA
from analytics.privacy import Privacy
from switchboard import routing
from switchboard.store import Store
from tests.support.refused import (
    EXPECTED,
    clear_of_a_minute_boundary,
    minute_now,
    refuse_one_of_each,
    store_deliveries,
)


def publish(store: Store, root: Path) -> export.Staged:
    hours = routing.load().hours
    staged = export.stage(store.engine, root, Privacy(b"k"), hours, datetime.now(UTC))
    results = quality.validate_frames("t", quality.read_batch(staged.path, staged.partitions))
    assert quality.failures(results) == []
    assert {r.dataset for r in results} >= {"refused_deliveries"}
    export.publish(root, staged, quality.as_dicts(results))
    return staged


def mart(root: Path, sql: str) -> list[tuple[object, ...]]:
    snapshot = export.current(root)
    assert snapshot is not None
    con = duckdb.connect(str(snapshot / "marts.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


async def test_refused_deliveries_are_exported_and_count_in_the_error_rate(
    store: Store, tmp_path: Path
) -> None:
    # Two twilio deliveries accepted, one of them failed to process; six refused (three to
    # twilio, two to sendgrid, one to push: see EXPECTED), all in one minute.
    await clear_of_a_minute_boundary()
    store_deliveries(store)
    await refuse_one_of_each(store)
    root = tmp_path / "exports"
    staged = publish(store, root)

    minute = minute_now()
    assert staged.rows["refused_deliveries"] == len(EXPECTED)
    snapshot = export.current(root)
    assert snapshot is not None
    twilio = pq.read_table(
        snapshot / "refused_deliveries" / f"date={minute.date()}" / "provider=twilio"
    )
    assert twilio.schema == REFUSED_SCHEMA
    reasons = zip(twilio["reason"].to_pylist(), twilio["refused"].to_pylist(), strict=True)
    assert sorted(reasons) == [
        ("signature", 1),
        ("too_large", 1),
        ("unavailable", 1),
    ]
    # Per minute and provider: received = accepted + refused; (failed + refused) / received.
    by_provider = mart(
        root, "SELECT provider, received, accepted, failed, refused, error_rate FROM error_rate"
    )
    assert sorted(by_provider) == [
        ("push", 1, 0, 0, 1, 1.0),
        ("sendgrid", 2, 0, 0, 2, 1.0),
        ("twilio", 5, 2, 1, 3, 4 / 5),
    ]
    ((received, refused, error_rate),) = mart(
        root, "SELECT received, refused, error_rate FROM resolution_overall"
    )
    assert (received, refused, error_rate) == (8, 6, 7 / 8)
    # `switchboard metrics` computes the same row from the store.
    figures = metrics.overall(CONVERSATIONS_SCHEMA.empty_table(), delivery_tables(store.engine))
    assert (figures["received"], figures["refused"], figures["error_rate"]) == (8, 6, 7 / 8)

    # Refused again: the day's partitions are rewritten with the grown counts.
    await refuse_one_of_each(store)
    publish(store, root)
    assert mart(root, "SELECT sum(refused) FROM error_rate") == [(12,)]


def test_the_gate_refuses_a_refusal_count_with_an_unknown_reason(tmp_path: Path) -> None:
    partition = tmp_path / "refused_deliveries" / "date=2026-12-01" / "provider=twilio"
    partition.mkdir(parents=True)
    rows = [
        {
            "minute": minute_now(),
            "endpoint": "/webhooks/twilio/sms",
            "reason": "bored",
            "refused": 1,
        }
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=REFUSED_SCHEMA), partition / "data.parquet")
    frames = quality.read_batch(tmp_path, [str(partition.relative_to(tmp_path))])
    failed = quality.failures(quality.validate_frames("t", frames))
    assert [(r.dataset, r.column, r.expectation) for r in failed] == [
        ("refused_deliveries", "reason", "expect_column_values_to_be_in_set")
    ]
