"""The `refused_deliveries` table: per minute, provider, endpoint and reason, how many webhook
deliveries the ingress refused. The ingress adds its counts in batches (upsert-increment), so
every ingress process of a deployment adds to the same rows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Engine, select

from switchboard.contract import Provider, RefusalReason, RefusedDeliveries
from switchboard.store.engine import upsert, write_transaction
from switchboard.store.tables import refused_deliveries

# (minute, provider, endpoint, reason)
RefusalKey = tuple[datetime, str, str, str]


def add_refusals(engine: Engine, counts: Mapping[RefusalKey, int], now: datetime) -> None:
    """Add `counts` to the stored ones, in one transaction."""
    if not counts:
        return
    table = refused_deliveries
    statement = upsert(engine, table)
    statement = statement.on_conflict_do_update(
        index_elements=["minute", "provider", "endpoint", "reason"],
        set_={
            "refused": table.c.refused + statement.excluded.refused,
            "updated_at": statement.excluded.updated_at,
        },
    )
    rows = [
        {
            "minute": minute,
            "provider": provider,
            "endpoint": endpoint,
            "reason": reason,
            "refused": n,
            "updated_at": now,
        }
        for (minute, provider, endpoint, reason), n in sorted(counts.items())
    ]
    with write_transaction(engine) as conn:
        conn.execute(statement, rows)


def list_refusals(
    engine: Engine, since: datetime | None = None, until: datetime | None = None
) -> list[RefusedDeliveries]:
    """The stored counts of the minutes in [since, until), oldest first."""
    table = refused_deliveries
    query = select(
        table.c.minute, table.c.provider, table.c.endpoint, table.c.reason, table.c.refused
    ).order_by(table.c.minute, table.c.provider, table.c.endpoint, table.c.reason)
    if since is not None:
        query = query.where(table.c.minute >= since)
    if until is not None:
        query = query.where(table.c.minute < until)
    with engine.connect() as conn:
        return [
            RefusedDeliveries(minute, Provider(provider), endpoint, RefusalReason(reason), n)
            for minute, provider, endpoint, reason, n in conn.execute(query)
        ]
