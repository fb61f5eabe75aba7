"""The DuckDB marts of a snapshot: every `analytics/marts/*.sql` over its Parquet datasets."""

from __future__ import annotations

from pathlib import Path

import duckdb

from analytics import metrics
from analytics.export.schemas import DATASETS, with_partitions

MARTS = Path(__file__).parents[1] / "marts"


def build_marts(snapshot: Path) -> None:
    """Run every marts/*.sql over the snapshot's Parquet into snapshot/marts.duckdb.

    The metric macros (analytics/metrics.sql) stay in the file, for ad-hoc SQL.
    """
    con = duckdb.connect(str(snapshot / "marts.duckdb"))
    try:
        kinds = {name: register(con, snapshot, name) for name in DATASETS}
        metrics.define(con)
        for sql in sorted(MARTS.glob("*.sql")):
            con.execute(f"CREATE OR REPLACE TABLE {sql.stem} AS {sql.read_text()}")
        for name, kind in kinds.items():  # the marts file holds the marts only
            con.execute(f"DROP {kind} {name}")
    finally:
        con.close()


def register(con: duckdb.DuckDBPyConnection, snapshot: Path, name: str) -> str:
    """`name` over the dataset's Parquet files: a view, or an empty table with its schema if
    there are none yet. Returns which ("VIEW" or "TABLE"), for whoever drops it."""
    files = sorted((snapshot / name).rglob("*.parquet"))
    if files:
        con.execute(
            f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet("
            f"'{snapshot / name}/**/*.parquet', hive_partitioning = true)"
        )
        return "VIEW"
    # A table, not a registered Arrow object: cursors of the connection must see it too.
    con.from_arrow(with_partitions(name).empty_table()).create(name)
    return "TABLE"
