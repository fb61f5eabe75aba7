"""What interactions and conversations cost, priced from the store by `switchboard.costs`.

`costs_table` is every interaction's cost, as the export prices it, for `switchboard metrics`
(which reads the store, not the export); `conversation_costs` is each conversation's, the
`cost` column of the `conversations` dataset that the marts and `metrics` read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine, Select, select

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
# Bound parameter lists a database accepts (SQLite's limit is in the thousands).
_CHUNK = 500
_PRICED = (
    interactions.c.conversation_id,
    interactions.c.channel,
    interactions.c.direction,
    interactions.c.occurred_at,
    interactions.c.content,
)


def costs_table(engine: Engine, rates: RateCard | None) -> pa.Table:
    rows = [
        {
            "conversation_id": row.conversation_id,
            "channel": row.channel,
            "occurred_at": row.occurred_at,
            "cost": cost,
        }
        for row, cost in _priced(engine, rates, [select(*_PRICED)])
    ]
    return pa.Table.from_pylist(rows, schema=COSTS_SCHEMA)


def conversation_costs(
    engine: Engine, rates: RateCard | None, only: Collection[str] | None = None
) -> dict[str, float]:
    """What each conversation (of those in `only`) cost: the sum of its interactions' costs.

    An interaction whose cost is not known yet (a call with no duration reported) adds nothing
    until it is; a conversation with no priced interaction cost 0.
    """
    query = select(*_PRICED).where(interactions.c.conversation_id.is_not(None))
    ids = None if only is None else sorted(only)
    queries = (
        [query]
        if ids is None
        else [
            query.where(interactions.c.conversation_id.in_(ids[i : i + _CHUNK]))
            for i in range(0, len(ids), _CHUNK)
        ]
    )
    totals: dict[str, float] = {}
    for row, cost in _priced(engine, rates, queries):
        totals[row.conversation_id] = totals.get(row.conversation_id, 0.0) + (cost or 0.0)
    return totals


def _priced(
    engine: Engine, rates: RateCard | None, queries: list[Select[Any]]
) -> Iterator[tuple[Any, float | None]]:
    with engine.connect() as conn:
        for query in queries:
            for row in conn.execute(query):
                yield row, interaction_cost(rates, row.channel, row.direction, row.content or {})
