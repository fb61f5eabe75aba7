"""The metrics' one definition (`metrics.sql`), for whoever computes them.

The marts run it before `marts/*.sql`, the dashboards in their own connection (to filter by
time range and channel, over the live interactions too), and `switchboard metrics` over the
same `conversations` and `interactions` rows the export writes, through the very
`resolution_overall` mart query: on the same data they agree exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import duckdb
import pyarrow as pa

DEFINITIONS = Path(__file__).with_name("metrics.sql")
OVERALL = Path(__file__).parent / "marts" / "resolution_overall.sql"

Number = int | float | None


def define(con: duckdb.DuckDBPyConnection) -> None:
    """Create the metric macros (and the `resolution` table macro) in `con`."""
    con.execute(DEFINITIONS.read_text())


def overall(
    conversations: pa.Table,
    deliveries: Mapping[str, pa.Table] | None = None,
    interactions: pa.Table | None = None,
) -> dict[str, Number]:
    """The `resolution_overall` mart's one row over these `conversations` rows, these
    `deliveries` (`raw_event_counts` and `refused_deliveries`, as the export reads them; none
    given: none received) and these `interactions` (as the export writes them: at least
    `conversation_id`, `channel`, `occurred_at`, `cost`, `received_at` and `latency_ms`; none
    given: none came)."""
    from analytics.export.schemas import with_partitions

    con = duckdb.connect()
    try:
        con.from_arrow(conversations).create("conversations")
        given_tables = {**(deliveries or {}), "interactions": interactions}
        for name in ("raw_event_counts", "refused_deliveries", "interactions"):
            given = given_tables.get(name)
            con.from_arrow(
                given if given is not None else with_partitions(name).empty_table()
            ).create(name)
        define(con)
        cursor = con.execute(OVERALL.read_text())
        names = [column[0] for column in cursor.description or []]
        row = cursor.fetchone()
        assert row is not None  # the mart has one row, even over no conversations
        return {name: number(value) for name, value in zip(names, row, strict=True)}
    finally:
        con.close()


def number(value: object) -> Number:
    """A JSON-safe number: NaN and infinities are no number at all."""
    if value is None or isinstance(value, bool):
        return None if value is None else int(value)
    if isinstance(value, int):
        return value
    as_float = float(value)  # type: ignore[arg-type]
    return as_float if math.isfinite(as_float) else None
