"""Staging: the store's rows that changed since the published watermark, as Parquet partitions.

Only the partitions that changed (a day of a channel, a day of events, a day of a provider's
raw event counts) are rewritten in the staging copy; the per-conversation metrics are rewritten
whole. Nothing changed, nothing is written.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Connection, Engine, func, select, text

from analytics.export import conversations, counts, erased
from analytics.export.counts import LATE_COMMIT_MARGIN
from analytics.export.files import day_bounds as _day
from analytics.export.files import write as _write
from analytics.export.files import write_table as _write_table
from analytics.export.marts import build_marts
from analytics.export.schemas import (
    EVENTS_SCHEMA,
    INTERACTIONS_SCHEMA,
)
from analytics.export.snapshots import (
    BATCH_DIR,
    Staged,
    Watermark,
    current,
    new_staging,
    published_watermark,
)
from analytics.privacy import Privacy
from switchboard.calendars import BusinessHours
from switchboard.costs import RateCard, interaction_cost
from switchboard.store.retention import EVENTS_DATASET, RAW_COUNTS_DATASET
from switchboard.store.tables import (
    conversation_events,
    interactions,
    raw_events,
    refused_deliveries,
)

# The changed rows of a merged partition, with their partition column, for the quality gate.
BATCH_SCHEMA = INTERACTIONS_SCHEMA.append(pa.field("channel", pa.string(), nullable=False))
# An interaction's row of the dataset, from its store row.
Record = Callable[[Any], dict[str, Any]]
# Conversation events carry no insertion time: the days near the watermark are redone.
EVENTS_LOOKBACK = timedelta(days=1)


def stage(
    engine: Engine,
    root: Path,
    privacy: Privacy,
    hours: BusinessHours,
    now: datetime,
    full: bool = False,
    rates: RateCard | None = None,
) -> Staged:
    """Write the partitions that changed since the published watermark to a staging copy;
    `full`: every partition, into an empty staging directory (`switchboard export --full`).
    `rates`: the rate card interactions are priced by (none: the providers' prices only)."""
    previous = Watermark() if full else published_watermark(root)
    high = _high_watermark(engine)
    rewrites = erased.pending(engine)
    high.rewrites_until = rewrites.until
    if (
        not full
        and high.interactions_updated_at == previous.interactions_updated_at
        and high.raw_event_id == previous.raw_event_id
        and high.events_at == previous.events_at
        and high.refused_updated_at == previous.refused_updated_at
        and rewrites.until is None
        and current(root) is not None
    ):
        return Staged(path=current(root) or root, watermark=previous, changed=False)

    staging = new_staging(root, empty=full)
    staged = Staged(path=staging, watermark=high, changed=True)
    record = interaction_record(privacy, rates)
    _stage_interactions(engine, staging, record, previous, rewrites.partitions, staged)
    _stage_events(engine, staging, previous, rewrites.days.get(EVENTS_DATASET, set()), staged)
    counts.stage_raw_counts(
        engine, staging, previous, staged, rewrites.days.get(RAW_COUNTS_DATASET, set())
    )
    counts.stage_refusals(engine, staging, previous, staged)
    _stage_conversations(engine, staging, hours, now, previous, staged)
    build_marts(staging)
    return staged


# --- datasets --------------------------------------------------------------------------------


def _stage_interactions(
    engine: Engine,
    staging: Path,
    record: Record,
    previous: Watermark,
    erased_from: set[tuple[date, str]],
    staged: Staged,
) -> None:
    """Rewrite the partitions whose rows changed, moved out or were deleted.

    A partition touched only by changed rows is the staged (published) file without those rows,
    plus their new versions: only the changed rows are read from the store, and only they make
    the batch the quality gate checks (`BATCH_DIR`). A partition whose row count then differs
    from the store's lost rows (retention, erasure) and is rebuilt from the store; one the store
    no longer has is removed.
    """
    dataset = staging / "interactions"
    changed: dict[tuple[date, str], list[dict[str, Any]]] = defaultdict(list)
    # The first export builds every partition from the store, one at a time.
    if previous.interactions_updated_at is not None:
        for channel, row in changed_interactions(engine, record, previous.interactions_updated_at):
            changed[(row["occurred_at"].date(), channel)].append(row)
    ids = [r["interaction_id"] for rows in changed.values() for r in rows]
    store_counts = _interaction_counts(engine)
    file_counts = {
        (date.fromisoformat(f.parent.parent.name[5:]), f.parent.name[8:]): pq.ParquetFile(
            f
        ).metadata.num_rows
        for f in dataset.glob("date=*/channel=*/data.parquet")
    }
    # Partitions that held an erased customer's rows are rebuilt from the store whatever
    # their counts say: a new row could hide an erased one in the count.
    touched = set(changed) | _partitions_holding(dataset, ids) | erased_from
    stale = {k for k, n in file_counts.items() if store_counts.get(k) != n} - touched
    rows = 0
    for day, channel in sorted(touched | stale | (set(store_counts) - set(file_counts))):
        path = dataset / f"date={day}" / f"channel={channel}"
        expected = store_counts.get((day, channel), 0)
        if expected == 0:
            shutil.rmtree(path, ignore_errors=True)
            if path.parent.exists() and not any(path.parent.iterdir()):
                path.parent.rmdir()  # the day held nothing else
            staged.partitions.append(str(path.relative_to(staging)))
            continue
        new = changed.get((day, channel), [])
        merge = (day, channel) in touched and (day, channel) not in erased_from
        table = _merged(path, ids, new) if merge else None
        if table is None or table.num_rows != expected:
            table = _partition_from_store(engine, record, day, channel)
        else:
            batch = staging / BATCH_DIR / path.relative_to(staging)
            _write(batch, [{**r, "channel": channel} for r in new], BATCH_SCHEMA)
        path.mkdir(parents=True, exist_ok=True)
        _write_table(path, table)
        staged.partitions.append(str(path.relative_to(staging)))
        rows += table.num_rows
    staged.rows["interactions"] = rows


def _merged(path: Path, ids: list[str], new: list[dict[str, Any]]) -> pa.Table | None:
    """The partition's staged rows without `ids`, plus `new`, by id; None if it has no file."""
    file = path / "data.parquet"
    fresh = pa.Table.from_pylist(new, schema=INTERACTIONS_SCHEMA)
    if not file.exists():
        return fresh if new else None
    old = pq.read_table(file, schema=INTERACTIONS_SCHEMA)
    kept = old.filter(pc.invert(pc.is_in(old["interaction_id"], pa.array(ids, pa.string()))))
    return pa.concat_tables([kept, fresh]).sort_by("interaction_id")


def _partitions_holding(dataset: Path, ids: list[str]) -> set[tuple[date, str]]:
    """The staged partitions that hold any of these interactions (where a moved row was)."""
    if not ids or not any(dataset.glob("date=*/channel=*/data.parquet")):
        return set()
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE wanted (id VARCHAR)")
        con.executemany("INSERT INTO wanted VALUES (?)", [(i,) for i in ids])
        found = con.execute(
            "SELECT DISTINCT CAST(date AS DATE), channel FROM read_parquet(?, "
            "hive_partitioning = true) WHERE interaction_id IN (SELECT id FROM wanted)",
            [str(dataset / "*" / "*" / "data.parquet")],
        ).fetchall()
    finally:
        con.close()
    return {(day, channel) for day, channel in found}


def _interaction_counts(engine: Engine) -> dict[tuple[date, str], int]:
    """The store's interactions per UTC day (of `occurred_at`) and channel."""
    if engine.dialect.name == "postgresql":
        day = func.to_char(func.timezone("UTC", interactions.c.occurred_at), "YYYY-MM-DD")
    else:  # SQLite keeps UTC timestamps as ISO text
        day = func.substr(interactions.c.occurred_at, 1, 10)
    query = select(day, interactions.c.channel, func.count()).group_by(day, interactions.c.channel)
    with engine.connect() as conn:
        return {(date.fromisoformat(d), c): n for d, c, n in conn.execute(query)}


def _partition_from_store(engine: Engine, record: Record, day: date, channel: str) -> pa.Table:
    start, end = _day(day)
    query = (
        select(interactions)
        .where(
            interactions.c.occurred_at >= start,
            interactions.c.occurred_at < end,
            interactions.c.channel == channel,
        )
        .order_by(interactions.c.interaction_id)
    )
    with engine.connect() as conn:
        records = [record(r) for r in conn.execute(query).mappings()]
    return pa.Table.from_pylist(records, schema=INTERACTIONS_SCHEMA)


def _stage_events(
    engine: Engine, staging: Path, previous: Watermark, deleted: set[date], staged: Staged
) -> None:
    """The days with events near or after the watermark, and those that lost events
    (`deleted`: retention, erasure), rewritten from the store; a day left empty is removed."""
    days = select(conversation_events.c.at)
    if previous.events_at is not None:
        days = days.where(conversation_events.c.at >= previous.events_at - EVENTS_LOOKBACK)
    with engine.connect() as conn:
        changed = sorted({at.date() for (at,) in conn.execute(days)} | deleted)
    rows = 0
    for day in changed:
        start, end = _day(day)
        query = (
            select(*(conversation_events.c[name] for name in EVENTS_SCHEMA.names))
            .where(conversation_events.c.at >= start, conversation_events.c.at < end)
            .order_by(conversation_events.c.event_id)
        )
        with engine.connect() as conn:
            records = [dict(r) for r in conn.execute(query).mappings()]
        path = staging / "conversation_events" / f"date={day}"
        if not records:
            shutil.rmtree(path, ignore_errors=True)
            continue
        _write(path, records, EVENTS_SCHEMA)
        staged.partitions.append(str(path.relative_to(staging)))
        rows += len(records)
    staged.rows["conversation_events"] = rows


def _stage_conversations(
    engine: Engine,
    staging: Path,
    hours: BusinessHours,
    now: datetime,
    previous: Watermark,
    staged: Staged,
) -> None:
    """Per-conversation outcomes, as `switchboard metrics` computes them: those that may have
    changed recomputed, merged with the rest."""
    path = staging / "conversations"
    table, recomputed = conversations.conversations_table(
        engine, path / "data.parquet", previous, EVENTS_LOOKBACK, hours, now
    )
    path.mkdir(parents=True, exist_ok=True)
    _write_table(path, table)
    staged.rows["conversations"] = recomputed


# --- helpers ---------------------------------------------------------------------------------


def _high_watermark(engine: Engine) -> Watermark:
    with engine.connect() as conn:
        # Read before the maximum: a transaction that commits in between is in the maximum.
        oldest = _oldest_open_transaction(conn)
        updated = conn.execute(select(func.max(interactions.c.updated_at))).scalar_one()
        if oldest is not None and updated is not None:
            # Rows still to be committed carry an `updated_at` from around their transaction's
            # start, maybe below the maximum: stop short of them, the next export reads them.
            updated = min(updated, oldest - LATE_COMMIT_MARGIN)
        return Watermark(
            updated,
            int(conn.execute(select(func.max(raw_events.c.raw_event_id))).scalar_one() or 0),
            conn.execute(select(func.max(conversation_events.c.at))).scalar_one(),
            refused_updated_at=conn.execute(
                select(func.max(refused_deliveries.c.updated_at))
            ).scalar_one(),
        )


def _oldest_open_transaction(conn: Connection) -> datetime | None:
    """When the oldest other open transaction on the database began, on PostgreSQL, where
    writers commit concurrently. (SQLite's writers take turns; one that took its `updated_at`
    before waiting for the lock could still land below the maximum: not covered yet.)"""
    if conn.dialect.name != "postgresql":
        return None
    started: datetime | None = conn.execute(
        text(
            # Client sessions only: an autovacuum worker has a transaction open too, and would
            # hold the watermark back (and the next export redo everything) while it runs.
            "SELECT min(xact_start) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL "
            "AND backend_type = 'client backend'"
        )
    ).scalar_one()
    return started


def interaction_record(privacy: Privacy, rates: RateCard | None = None) -> Record:
    """An interaction row of the store as the export writes it."""
    return partial(_interaction_record, privacy=privacy, rates=rates)


def changed_interactions(
    engine: Engine, record: Record, after: datetime | None
) -> list[tuple[str, dict[str, Any]]]:
    """Each interaction the store changed after `after` (None: every one), with its channel,
    as `record` writes it: what the next export will add to the published one."""
    query = select(interactions)
    if after is not None:
        query = query.where(interactions.c.updated_at > after)
    with engine.connect() as conn:
        return [(row["channel"], record(row)) for row in conn.execute(query).mappings()]


def _interaction_record(row: Any, privacy: Privacy, rates: RateCard | None) -> dict[str, Any]:
    content = row["content"] or {}
    # Processing latency, receipt → persisted: the one per-interaction definition that the
    # export, the live pages (analytics/live.py) and `switchboard metrics` write, and whose
    # percentiles analytics/metrics.sql defines.
    latency = (row["persisted_at"] - row["received_at"]).total_seconds() * 1000
    return {
        "interaction_id": row["interaction_id"],
        "customer_id": row["customer_id"],
        "conversation_id": row["conversation_id"],
        "direction": row["direction"],
        "provider": row["provider"],
        "occurred_at": row["occurred_at"],
        "received_at": row["received_at"],
        "persisted_at": row["persisted_at"],
        "latency_ms": latency,
        "status": row["status"],
        "delivery_status": row["delivery_status"],
        "route_queue": row["route_queue"],
        "route_priority": row["route_priority"],
        "sla_due_at": row["sla_due_at"],
        "from_hash": privacy.address(row["from_address"]),
        "to_hash": privacy.address(row["to_address"]),
        "text": privacy.text(content.get("text") or content.get("transcript")),
        "subject": privacy.text(content.get("subject")),
        "has_media": bool(content.get("media")),
        "identity_verified": bool(row["identity_verified"]),
        "cost": interaction_cost(rates, row["channel"], row["direction"], content),
    }
