"""Fixed-window request counters shared by every ingress replica (PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from switchboard.store.engine import upsert, write_transaction
from switchboard.store.tables import rate_limit_windows as windows


def count(engine: Engine, actor: str, bucket: str, window_start: datetime) -> int:
    """Add one request to the window and return how many it holds now (this one included)."""
    statement = upsert(engine, windows).values(
        actor=actor, bucket=bucket, window_start=window_start, requests=1
    )
    statement = statement.on_conflict_do_update(
        index_elements=["actor", "bucket", "window_start"],
        set_={"requests": windows.c.requests + 1},
    ).returning(windows.c.requests)
    with write_transaction(engine) as conn:
        return int(conn.execute(statement).scalar_one())
