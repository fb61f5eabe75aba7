"""The per-minute count datasets: raw events (accepted deliveries, failed or not) and refused
deliveries, each partitioned by day and provider."""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine, select

from analytics.export.files import day_bounds as _day
from analytics.export.files import write as _write
from analytics.export.schemas import RAW_COUNTS_SCHEMA, REFUSED_SCHEMA, with_partitions
from analytics.export.snapshots import Staged, Watermark
from switchboard.store.refusals import list_refusals
from switchboard.store.tables import raw_events, refused_deliveries

# How long before its transaction began a writer may have taken a row's `updated_at` (it takes
# it in Python, then its first statement begins the transaction).
LATE_COMMIT_MARGIN = timedelta(seconds=5)


def stage_raw_counts(
    engine: Engine,
    staging: Path,
    previous: Watermark,
    staged: Staged,
    deleted: set[date] | None = None,
) -> None:
    """Rewrite the days (per provider) that have raw events newer than the watermark, and
    those that lost some (`deleted`: retention), whose providers left with none keep no file."""
    new = select(raw_events.c.received_at).where(raw_events.c.raw_event_id > previous.raw_event_id)
    with engine.connect() as conn:
        changed = sorted({at.date() for (at,) in conn.execute(new)} | (deleted or set()))
    for day in deleted or ():
        shutil.rmtree(staging / "raw_event_counts" / f"date={day}", ignore_errors=True)
    staged.rows["raw_event_counts"] = _stage_days(
        staging, "raw_event_counts", RAW_COUNTS_SCHEMA, changed, raw_count_records, engine, staged
    )


def stage_refusals(engine: Engine, staging: Path, previous: Watermark, staged: Staged) -> None:
    """Rewrite, from the store, every day (per provider) whose refused counts grew since the
    watermark: the rows only grow, a day's are few."""
    table = refused_deliveries
    grown = select(table.c.minute)
    if previous.refused_updated_at is not None:
        # A flush takes its `updated_at` just before it commits: look back past one in flight.
        grown = grown.where(table.c.updated_at > previous.refused_updated_at - LATE_COMMIT_MARGIN)
    with engine.connect() as conn:
        changed = sorted({minute.date() for (minute,) in conn.execute(grown)})
    staged.rows["refused_deliveries"] = _stage_days(
        staging, "refused_deliveries", REFUSED_SCHEMA, changed, refusal_records, engine, staged
    )


Records = dict[str, list[dict[str, Any]]]


def raw_count_records(
    engine: Engine, start: datetime | None = None, end: datetime | None = None
) -> Records:
    """Raw events received in [start, end) per minute, kind and failed or not, by provider."""
    query = select(
        raw_events.c.received_at,
        raw_events.c.provider,
        raw_events.c.kind,
        raw_events.c.error.is_not(None).label("failed"),
    )
    if start is not None and end is not None:
        query = query.where(raw_events.c.received_at >= start, raw_events.c.received_at < end)
    counts: dict[tuple[str, datetime, str, bool], int] = defaultdict(int)
    with engine.connect() as conn:
        for at, provider, kind, failed in conn.execute(query):
            counts[(provider, at.replace(second=0, microsecond=0), kind, bool(failed))] += 1
    by_provider: Records = defaultdict(list)
    for (provider, minute, kind, failed), n in sorted(counts.items()):
        by_provider[provider].append(
            {"minute": minute, "kind": kind, "failed": failed, "events": n}
        )
    return by_provider


def refusal_records(
    engine: Engine, start: datetime | None = None, end: datetime | None = None
) -> Records:
    """The refused deliveries' counts of the minutes in [start, end), by provider."""
    by_provider: Records = defaultdict(list)
    for row in list_refusals(engine, start, end):
        by_provider[row.provider].append(
            {name: getattr(row, name) for name in REFUSED_SCHEMA.names}
        )
    return by_provider


def delivery_tables(engine: Engine) -> dict[str, pa.Table]:
    """`raw_event_counts` and `refused_deliveries` of the whole store, as a reader of the export
    sees them (partition columns included): what `switchboard metrics` computes over."""
    tables = {}
    readers: dict[str, Callable[[Engine], Records]] = {
        "raw_event_counts": raw_count_records,
        "refused_deliveries": refusal_records,
    }
    for name, read in readers.items():
        rows = [
            {**record, "date": record["minute"].date(), "provider": provider}
            for provider, records in read(engine).items()
            for record in records
        ]
        tables[name] = pa.Table.from_pylist(rows, schema=with_partitions(name))
    return tables


def _stage_days(
    staging: Path,
    dataset: str,
    schema: pa.Schema,
    days: list[date],
    read: Callable[[Engine, datetime, datetime], Records],
    engine: Engine,
    staged: Staged,
) -> int:
    """Write each of `days`' partitions (per provider) of `dataset`; the rows written."""
    rows = 0
    for day in days:
        for provider, records in read(engine, *_day(day)).items():
            path = staging / dataset / f"date={day}" / f"provider={provider}"
            _write(path, records, schema)
            staged.partitions.append(str(path.relative_to(staging)))
            rows += len(records)
    return rows
