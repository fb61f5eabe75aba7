"""Writing a staged dataset's files: whole Parquet files, swapped in by rename."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


def write(directory: Path, records: Iterable[dict[str, Any]], schema: pa.Schema) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    write_table(directory, pa.Table.from_pylist(list(records), schema=schema))


def write_table(directory: Path, table: pa.Table) -> None:
    target = directory / "data.parquet"
    # A new file under a temporary name, then renamed over the old one: the old file may be a
    # hard link shared with the published snapshot, which must not change under a reader.
    scratch = directory / f".data-{uuid.uuid4().hex}.parquet"
    pq.write_table(table, scratch, compression="zstd")
    scratch.replace(target)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)
