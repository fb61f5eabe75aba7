"""Every interaction's cost, priced from the store as the export prices it
(`switchboard.costs`), for `switchboard metrics`, which reads the store, not the export."""

from __future__ import annotations

import pyarrow as pa
from sqlalchemy import Engine, select

from switchboard.costs import RateCard, interaction_cost
from switchboard.store.tables import interactions

# The columns of the `interactions` dataset the cost figures read (analytics/metrics.sql).
COSTS_SCHEMA = pa.schema(
    [
        pa.field("conversation_id", pa.string()),
        pa.field("channel", pa.string(), nullable=False),
        pa.field("occurred_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("cost", pa.float64()),
    ]
)


def costs_table(engine: Engine, rates: RateCard | None) -> pa.Table:
    query = select(
        interactions.c.conversation_id,
        interactions.c.channel,
        interactions.c.direction,
        interactions.c.occurred_at,
        interactions.c.content,
    )
    with engine.connect() as conn:
        rows = [
            {
                "conversation_id": row.conversation_id,
                "channel": row.channel,
                "occurred_at": row.occurred_at,
                "cost": interaction_cost(rates, row.channel, row.direction, row.content or {}),
            }
            for row in conn.execute(query)
        ]
    return pa.Table.from_pylist(rows, schema=COSTS_SCHEMA)
