"""Where a person's data still is: every row of every table, every file (Parquet and DuckDB
read back as values too, since their pages may be compressed), searched byte by byte."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from sqlalchemy import select

from switchboard.store import Store
from switchboard.store.tables import metadata


def rows_holding(store: Store, needles: dict[str, str], spare: dict[str, set[str]]) -> list[str]:
    """`table: needle` for every table whose rows hold a needle; `spare` names the needles a
    table may keep (the audit log keeps whom an erasure erased)."""
    found = []
    with store.engine.connect() as conn:
        for table in metadata.sorted_tables:
            text = "\n".join(repr(tuple(row)) for row in conn.execute(select(table)))
            for name, needle in needles.items():
                if needle in text and name not in spare.get(table.name, set()):
                    found.append(f"{table.name}: {name}")
    return found


def files_holding(root: Path, needles: dict[str, bytes]) -> list[str]:
    """`file: needle` for every file under `root` whose bytes or values hold a needle."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix == ".parquet":
            data += repr(pq.read_table(path).to_pylist()).encode()
        elif path.suffix == ".duckdb":
            data += _duckdb_values(path)
        for name, needle in needles.items():
            if needle in data:
                found.append(f"{path.relative_to(root)}: {name}")
    return found


def _duckdb_values(path: Path) -> bytes:
    db = duckdb.connect(str(path), read_only=True)
    try:
        tables = db.execute("SELECT table_name FROM information_schema.tables").fetchall()
        # Names come from the catalogue itself, quoted; no value is formatted into SQL.
        dumps = [repr(db.execute(f'SELECT * FROM "{t}"').fetchall()) for (t,) in tables]
    finally:
        db.close()
    return "\n".join(dumps).encode()
