"""The interactions a published export does not hold yet, read from the store (read-only).

The export publishes every `SWITCHBOARD_EXPORT_INTERVAL_S` (60 s by default): between two
exports, the rows the store changed after the published watermark (`interactions.updated_at`)
are what a reader of the export misses. `changed_since` gives exactly those rows, as the next
export will write them; `LIVE_INTERACTIONS` lays them over the published ones (a row the store
changed replaces its published version), so a figure read through it is the one the next
export will publish, seconds after the webhook instead of a minute.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
from sqlalchemy import Engine

from analytics.export.schemas import with_partitions
from analytics.export.staging import changed_interactions, interaction_record
from analytics.privacy import Privacy
from switchboard.costs import RateCard

# `published` and `changed` are the published rows and `changed_since`'s, same columns.
LIVE_INTERACTIONS = """
SELECT * FROM published WHERE interaction_id NOT IN (SELECT interaction_id FROM changed)
UNION ALL BY NAME
SELECT * FROM changed
"""


def changed_since(
    engine: Engine, privacy: Privacy, after: datetime | None, rates: RateCard | None = None
) -> pa.Table:
    """The interactions the store changed after `after` (the published watermark; None: every
    one), in the columns a reader of the exported `interactions` sees (partitions included),
    priced by `rates` as the export prices them (none: the provider's price alone)."""
    record = interaction_record(privacy, rates)
    rows = [
        {**row, "date": row["occurred_at"].date(), "channel": channel}
        for channel, row in changed_interactions(engine, record, after)
    ]
    return pa.Table.from_pylist(rows, schema=with_partitions("interactions"))
