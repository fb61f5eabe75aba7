"""The quality gate can fail: each expectation, fed a batch that breaks it, refuses the batch.

The suites come from the datasets' schemas (generated from the contract) and the contract's
value sets, never from the batch they check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import great_expectations.expectations as gxe
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics import quality
from analytics.export.schemas import DATASETS, INTERACTIONS_SCHEMA, with_partitions
from switchboard.contract import CustomerInteraction, Status

AT = datetime(2026, 11, 23, 10, tzinfo=UTC)


def row(n: int, **changes: Any) -> dict[str, Any]:
    return {
        "interaction_id": f"i{n}",
        "customer_id": "c",
        "conversation_id": "v",
        "direction": "inbound",
        "provider": "twilio",
        "occurred_at": AT,
        "received_at": AT,
        "persisted_at": AT + timedelta(milliseconds=20),
        "status": "completed",
        "delivery_status": None,
        "route_queue": "support",
        "route_priority": 2,
        "sla_due_at": None,
        "latency_ms": 20.0,
        "from_hash": "h1",
        "to_hash": "h2",
        "text": None,
        "subject": None,
        "has_media": False,
        "identity_verified": True,
        **changes,
    }


def gate(tmp_path: Path, table: pa.Table) -> list[quality.Result]:
    """Write the table as one interactions partition and run the gate over it; its failures."""
    partition = "interactions/date=2026-11-23/channel=sms"
    (tmp_path / partition).mkdir(parents=True)
    pq.write_table(table, tmp_path / partition / "data.parquet")
    frames = quality.read_batch(tmp_path, [partition])
    return quality.failures(quality.validate_frames("t", frames))


def broken(failed: list[quality.Result]) -> set[tuple[str | None, str]]:
    return {(r.column, r.expectation) for r in failed}


def test_a_good_batch_passes(tmp_path: Path) -> None:
    rows = [row(1), row(2, status="failed", delivery_status="undelivered", route_priority=3)]
    assert gate(tmp_path, pa.Table.from_pylist(rows, schema=INTERACTIONS_SCHEMA)) == []


def drop_status(table: pa.Table) -> pa.Table:
    return table.drop_columns(["status"])


def text_latency(table: pa.Table) -> pa.Table:
    index = table.schema.get_field_index("latency_ms")
    return table.set_column(index, "latency_ms", pa.array(["20", "20"]))


def naive_time(table: pa.Table) -> pa.Table:
    index = table.schema.get_field_index("occurred_at")
    naive = pa.array([AT.replace(tzinfo=None)] * 2, pa.timestamp("us"))
    return table.set_column(index, "occurred_at", naive)


def bad_status(table: pa.Table) -> pa.Table:
    index = table.schema.get_field_index("status")
    return table.set_column(index, "status", pa.array(["completed", "done"]))


def duplicate_id(table: pa.Table) -> pa.Table:
    index = table.schema.get_field_index("interaction_id")
    return table.set_column(index, "interaction_id", pa.array(["i1", "i1"]))


def missing_key(table: pa.Table) -> pa.Table:
    index = table.schema.get_field_index("customer_id")
    return table.set_column(index, "customer_id", pa.array(["c", None]))


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (drop_status, (None, "expect_table_columns_to_match_set")),
        (text_latency, ("latency_ms", "expect_column_values_to_be_of_type")),
        (naive_time, ("occurred_at", "expect_column_values_to_be_of_type")),
        (bad_status, ("status", "expect_column_values_to_be_in_set")),
        (duplicate_id, ("interaction_id", "expect_column_values_to_be_unique")),
        (missing_key, ("customer_id", "expect_column_values_to_not_be_null")),
    ],
    ids=lambda v: v.__name__ if callable(v) else "",
)
def test_a_batch_that_breaks_an_expectation_is_refused(
    tmp_path: Path,
    spoil: Callable[[pa.Table], pa.Table],
    expected: tuple[str | None, str],
) -> None:
    good = pa.Table.from_pylist([row(1), row(2)], schema=INTERACTIONS_SCHEMA)
    # Written without the schema's not-null flags, as a faulty writer would.
    loose = pa.schema([f.with_nullable(True) for f in good.schema])
    assert expected in broken(gate(tmp_path, spoil(good.cast(loose))))


def test_the_status_life_cycle_is_the_contract_s() -> None:
    statuses = quality.VALUE_SETS["interactions"]["status"]
    assert statuses == ["received", "processing", "completed", "failed"]
    assert statuses == [s.value for s in Status]


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_dataset_has_a_suite_of_its_schema_s_columns(dataset: str) -> None:
    suite = quality.suite(dataset)
    (columns,) = [e for e in suite.expectations if isinstance(e, gxe.ExpectTableColumnsToMatchSet)]
    expected = [name for name in with_partitions(dataset).names if name != "date"]
    assert sorted(columns.column_set or []) == sorted(expected)
    typed = [e for e in suite.expectations if isinstance(e, gxe.ExpectColumnValuesToBeOfType)]
    assert {e.column for e in typed} == set(expected)


def test_the_interactions_schema_follows_the_contract() -> None:
    """Types come from CustomerInteraction's annotations: an optional field may be null, a
    required one may not, a timestamp is UTC."""
    fields = {f.name: f for f in INTERACTIONS_SCHEMA}
    assert fields["occurred_at"].type == pa.timestamp("us", tz="UTC")
    assert not fields["interaction_id"].nullable and fields["conversation_id"].nullable
    assert "persisted_at" in CustomerInteraction.__dataclass_fields__
    assert not fields["persisted_at"].nullable  # an exported row has been persisted


def test_results_are_appended_by_batch_never_rewritten(tmp_path: Path) -> None:
    first = quality.Result("b1", "interactions", "x", None, True, None, None, AT)
    quality.keep(tmp_path, [first])
    (kept,) = quality.result_files(tmp_path)
    before = kept.stat()
    quality.keep(tmp_path, [replace(first, batch="b2", validated_at=AT + timedelta(minutes=1))])
    files = quality.result_files(tmp_path)
    assert files[0] == kept and (kept.stat().st_ino, kept.stat().st_mtime_ns) == (
        before.st_ino,
        before.st_mtime_ns,
    )
    batches = [pq.read_table(f).column("batch").to_pylist() for f in files]
    assert batches == [["b1"], ["b2"]]
