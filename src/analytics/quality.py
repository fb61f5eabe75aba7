"""The data-quality gate: Great Expectations suites, as code, over each export batch.

A batch is what an export rewrote (its changed partitions). A batch that fails any expectation
is not published: the export workflow fails its `validate_export` activity with the failures,
and the results are kept either way (`validation_results` beside the exports).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

# Great Expectations reports usage to its makers unless told not to; these machines are offline.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.data_context.types.base import ProgressBarsConfig

from analytics.export.schemas import DATASETS, with_partitions
from analytics.export.snapshots import BATCH_DIR
from switchboard.contract import Channel, Direction, EventKind, Provider, RefusalReason, Status

RESULTS_DIR = "validation_results"
LEGACY_RESULTS_FILE = "validation_results.parquet"
# pandas reads a time zone-aware column as Timestamps, a naive one as datetime64.
AWARE = "Timestamp"


@dataclass(frozen=True)
class Result:
    batch: str
    dataset: str
    expectation: str
    column: str | None
    success: bool
    unexpected: int | None
    example: str | None
    validated_at: datetime


# Each dataset's identity, value sets (from the contract's enums) and non-negative numbers;
# the columns, their types and which may be null come from its schema (export/schemas.py).
UNIQUE: dict[str, list[str]] = {
    "interactions": ["interaction_id"],
    "conversation_events": ["event_id"],
    "raw_event_counts": ["provider", "minute", "kind", "failed"],
    "conversations": ["conversation_id"],
    "refused_deliveries": ["provider", "minute", "endpoint", "reason"],
}
VALUE_SETS: dict[str, dict[str, list[str]]] = {
    "interactions": {
        "channel": [c.value for c in Channel],
        "direction": [d.value for d in Direction],
        "provider": [p.value for p in Provider],
        # The life cycle: received → processing → completed | failed.
        "status": [s.value for s in Status],
    },
    "conversation_events": {"kind": [k.value for k in EventKind]},
    "raw_event_counts": {"provider": [p.value for p in Provider]},
    "conversations": {"channel": [c.value for c in Channel], "resolved_by": ["agent", "auto"]},
    "refused_deliveries": {
        "provider": [p.value for p in Provider],
        "reason": [r.value for r in RefusalReason],
    },
}
NON_NEGATIVE: dict[str, list[str]] = {
    "interactions": ["latency_ms"],
    "raw_event_counts": ["events"],
    "refused_deliveries": ["refused"],
    "conversations": [
        "first_response_s",
        "resolution_s",
        "resolution_business_s",
        "time_in_queue_s",
        "handle_time_s",
    ],
}


# Partition columns come from directory names: never null.
PARTITIONS_NOT_NULL = {"channel", "provider"}


def expected_columns(dataset: str) -> pa.Schema:
    """The columns a batch of `dataset` must have, as `read_batch` gives them: the file's, then
    the partition columns (but the day, which is the timestamps' own)."""
    schema = with_partitions(dataset)
    return pa.schema(
        [
            f.with_nullable(False) if f.name in PARTITIONS_NOT_NULL else f
            for f in schema
            if f.name != "date"
        ]
    )


def pandas_type(kind: pa.DataType) -> str:
    """The type name Great Expectations observes for a column `read_batch` made of `kind`."""
    if pa.types.is_timestamp(kind):
        return AWARE if kind.tz else "datetime64"
    for test, name in (
        (pa.types.is_string, "str"),
        (pa.types.is_boolean, "bool"),
        (pa.types.is_integer, "int"),
        (pa.types.is_floating, "float"),
    ):
        if test(kind):
            return name
    raise TypeError(f"no expectation for the type {kind}")


def suite(dataset: str) -> gx.ExpectationSuite:
    """The dataset's expectations, from its schema and the contract, never from a batch."""
    schema = expected_columns(dataset)
    unique = UNIQUE[dataset]
    return gx.ExpectationSuite(
        name=dataset,
        expectations=[
            gxe.ExpectTableColumnsToMatchSet(column_set=schema.names, exact_match=True),
            *(gxe.ExpectColumnValuesToNotBeNull(column=f.name) for f in schema if not f.nullable),
            *(
                gxe.ExpectColumnValuesToBeOfType(column=f.name, type_=pandas_type(f.type))
                for f in schema
            ),
            gxe.ExpectColumnValuesToBeUnique(column=unique[0])
            if len(unique) == 1
            else gxe.ExpectCompoundColumnsToBeUnique(column_list=unique),
            *(
                gxe.ExpectColumnValuesToBeInSet(column=column, value_set=values)
                for column, values in VALUE_SETS.get(dataset, {}).items()
            ),
            *(
                gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0)
                for column in NON_NEGATIVE.get(dataset, [])
            ),
        ],
    )


def validate_frames(batch: str, frames: dict[str, pd.DataFrame]) -> list[Result]:
    """Run each dataset's suite over its frame; an empty frame has nothing to check."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("export")
    now = datetime.now(UTC)
    results: list[Result] = []
    for dataset, frame in frames.items():
        if frame.empty:
            continue
        expectations = suite(dataset)
        definition = source.add_dataframe_asset(dataset).add_batch_definition_whole_dataframe(
            "batch"
        )
        outcome = definition.get_batch(batch_parameters={"dataframe": frame}).validate(expectations)
        for result in outcome.results:
            config = result.expectation_config
            assert config is not None
            examples = result.result.get("partial_unexpected_list") or []
            results.append(
                Result(
                    batch=batch,
                    dataset=dataset,
                    expectation=config.type,
                    column=config.kwargs.get("column"),
                    success=bool(result.success),
                    unexpected=result.result.get("unexpected_count"),
                    example=str(examples[0]) if examples else None,
                    validated_at=now,
                )
            )
    return results


def read_batch(snapshot: Path, partitions: Sequence[str]) -> dict[str, pd.DataFrame]:
    """The rewritten partitions of each dataset, with their partition columns, as frames."""
    frames: dict[str, list[pd.DataFrame]] = {name: [] for name in DATASETS}
    for partition in [*partitions, "conversations"]:
        dataset = partition.split("/", 1)[0]
        # The changed rows alone when the export merged them into a partition (they carry the
        # partition columns already), else the whole rewritten partition.
        batch = snapshot / BATCH_DIR / partition / "data.parquet"
        if dataset in frames and batch.exists():
            frames[dataset].append(read_frame(batch))
            continue
        if dataset not in frames or not (snapshot / partition / "data.parquet").exists():
            continue
        frame = read_frame(snapshot / partition / "data.parquet")
        for part in Path(partition).parts[1:]:
            column, _, value = part.partition("=")
            if column != "date":  # the day is the timestamp's own; the rest is a column
                frame[column] = value
        frames[dataset].append(frame)
    return {name: pd.concat(parts, ignore_index=True) for name, parts in frames.items() if parts}


def read_frame(path: Path) -> pd.DataFrame:
    """A Parquet file as a frame whose columns keep their Arrow types (an integer column with
    nulls stays integer); timestamps as pandas' own, so a naive one shows as such."""
    return pq.read_table(path).to_pandas(
        types_mapper=lambda kind: None if pa.types.is_timestamp(kind) else pd.ArrowDtype(kind)
    )


def failures(results: Sequence[Result]) -> list[Result]:
    return [r for r in results if not r.success]


def keep(root: Path, results: Sequence[Result]) -> None:
    """Append the results beside the exports (published or not): one new file per batch, so
    the history is never read back and rewritten."""
    if not results:
        return
    directory = root / RESULTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    # Names sort by time; a reader never sees a half-written file (rename(2)).
    name = results[0].validated_at.strftime("%Y%m%dT%H%M%S%f") + f"-{uuid.uuid4().hex}.parquet"
    scratch = directory / f".{name}.tmp"
    pq.write_table(pa.Table.from_pylist([asdict(r) for r in results]), scratch)
    scratch.replace(directory / name)


def result_files(root: Path) -> list[Path]:
    """Every kept results file, oldest first (with the single file older versions kept)."""
    legacy = root / LEGACY_RESULTS_FILE
    return [legacy] * legacy.exists() + sorted((root / RESULTS_DIR).glob("*.parquet"))


def describe(failed: Sequence[Result]) -> str:
    """One readable line per failed expectation, for Temporal UI."""
    return "; ".join(
        f"{r.dataset}.{r.column or '*'}: {r.expectation}"
        + (f" ({r.unexpected} rows, e.g. {r.example})" if r.unexpected else "")
        for r in failed
    )


def as_dicts(results: Sequence[Result]) -> list[dict[str, Any]]:
    return [{**asdict(r), "validated_at": r.validated_at.isoformat()} for r in results]
