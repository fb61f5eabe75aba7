"""The data-quality gate: Great Expectations suites, as code, over each export batch.

A batch is what an export rewrote (its changed partitions). A batch that fails any expectation
is not published: the export workflow fails its `validate_export` activity with the failures,
and the results are kept either way (`validation_results` beside the exports).
"""

from __future__ import annotations

import os
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

from switchboard.contract import Channel, Direction, Status

RESULTS_FILE = "validation_results.parquet"
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


def interactions_suite(columns: Sequence[str]) -> gx.ExpectationSuite:
    keys = ("interaction_id", "customer_id", "channel", "direction", "occurred_at")
    times = ("occurred_at", "received_at", "persisted_at")
    return gx.ExpectationSuite(
        name="interactions",
        expectations=[
            gxe.ExpectTableColumnsToMatchSet(column_set=list(columns), exact_match=True),
            *(gxe.ExpectColumnValuesToNotBeNull(column=c) for c in keys),
            *(gxe.ExpectColumnValuesToNotBeNull(column=c) for c in times),
            gxe.ExpectColumnValuesToBeUnique(column="interaction_id"),
            *(gxe.ExpectColumnValuesToBeOfType(column=c, type_=AWARE) for c in times),
            gxe.ExpectColumnValuesToBeInSet(column="channel", value_set=[c.value for c in Channel]),
            gxe.ExpectColumnValuesToBeInSet(
                column="direction", value_set=[d.value for d in Direction]
            ),
            gxe.ExpectColumnValuesToBeInSet(column="status", value_set=[s.value for s in Status]),
            gxe.ExpectColumnValuesToBeBetween(column="latency_ms", min_value=0),
        ],
    )


def events_suite(columns: Sequence[str]) -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="conversation_events",
        expectations=[
            gxe.ExpectTableColumnsToMatchSet(column_set=list(columns), exact_match=True),
            *(
                gxe.ExpectColumnValuesToNotBeNull(column=c)
                for c in ("event_id", "conversation_id", "kind", "at")
            ),
            gxe.ExpectColumnValuesToBeUnique(column="event_id"),
            gxe.ExpectColumnValuesToBeOfType(column="at", type_=AWARE),
        ],
    )


def conversations_suite(columns: Sequence[str]) -> gx.ExpectationSuite:
    durations = ("first_response_s", "resolution_s", "resolution_business_s")
    return gx.ExpectationSuite(
        name="conversations",
        expectations=[
            gxe.ExpectTableColumnsToMatchSet(column_set=list(columns), exact_match=True),
            gxe.ExpectColumnValuesToNotBeNull(column="conversation_id"),
            gxe.ExpectColumnValuesToBeUnique(column="conversation_id"),
            *(gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in durations),
        ],
    )


SUITES = {
    "interactions": interactions_suite,
    "conversation_events": events_suite,
    "conversations": conversations_suite,
}


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
        suite = SUITES[dataset](list(frame.columns))
        definition = source.add_dataframe_asset(dataset).add_batch_definition_whole_dataframe(
            "batch"
        )
        outcome = definition.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
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
    frames: dict[str, list[pd.DataFrame]] = {name: [] for name in SUITES}
    for partition in [*partitions, "conversations"]:
        dataset = partition.split("/", 1)[0]
        if dataset not in frames or not (snapshot / partition / "data.parquet").exists():
            continue
        frame = pq.read_table(snapshot / partition / "data.parquet").to_pandas()
        for part in Path(partition).parts[1:]:
            column, _, value = part.partition("=")
            if column != "date":  # the day is the timestamp's own; the rest is a column
                frame[column] = value
        frames[dataset].append(frame)
    return {name: pd.concat(parts, ignore_index=True) for name, parts in frames.items() if parts}


def failures(results: Sequence[Result]) -> list[Result]:
    return [r for r in results if not r.success]


def keep(root: Path, results: Sequence[Result]) -> None:
    """Append the results to the table kept beside the exports (published or not)."""
    if not results:
        return
    path = root / RESULTS_FILE
    table = pa.Table.from_pylist([asdict(r) for r in results])
    if path.exists():
        table = pa.concat_tables([pq.read_table(path), table], promote_options="default")
    scratch = root / f".{RESULTS_FILE}.tmp"
    pq.write_table(table, scratch)
    scratch.replace(path)


def describe(failed: Sequence[Result]) -> str:
    """One readable line per failed expectation, for Temporal UI."""
    return "; ".join(
        f"{r.dataset}.{r.column or '*'}: {r.expectation}"
        + (f" ({r.unexpected} rows, e.g. {r.example})" if r.unexpected else "")
        for r in failed
    )


def as_dicts(results: Sequence[Result]) -> list[dict[str, Any]]:
    return [{**asdict(r), "validated_at": r.validated_at.isoformat()} for r in results]
