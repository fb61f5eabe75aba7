"""Exports: the store as Parquet, partitioned by date and channel, and DuckDB marts over it.

Under the export directory (`SWITCHBOARD_EXPORT_DIR`):

    current -> snapshots/<id>         the published export (a symlink, swapped atomically)
    snapshots/<id>/
      interactions/date=…/channel=…/data.parquet
      conversation_events/date=…/data.parquet
      raw_event_counts/date=…/provider=…/data.parquet     (per minute, kind, failed or not)
      refused_deliveries/date=…/provider=…/data.parquet   (per minute, endpoint, reason)
      conversations/data.parquet                        (per-conversation resolution metrics)
      marts.duckdb                                      (tables built from marts/*.sql)
      manifest.json                                     (watermark, row counts, validation)

An export starts from the published snapshot (hard links, nothing copied), rewrites only the
partitions that changed since its watermark, and is published by swapping `current`: a reader
sees the old export or the new one, never half of one. Nothing changed, nothing is written, so
running it twice gives the same files and numbers.

`schemas` holds the datasets' Arrow schemas, `staging` writes a new export, `marts` builds the
DuckDB marts over one, `snapshots` publishes it.
"""

from analytics.export.marts import build_marts, register
from analytics.export.schemas import DATASETS
from analytics.export.snapshots import (
    Staged,
    Watermark,
    current,
    discard,
    publish,
    published_watermark,
)
from analytics.export.staging import stage

__all__ = [
    "DATASETS",
    "Staged",
    "Watermark",
    "build_marts",
    "current",
    "discard",
    "publish",
    "published_watermark",
    "register",
    "stage",
]
