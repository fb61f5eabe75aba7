"""Exports: the store as Parquet, partitioned by date and channel, and DuckDB marts over it.

Under the export directory (`SWITCHBOARD_EXPORT_DIR`):

    current -> snapshots/<id>         the published export (a symlink, swapped atomically)
    snapshots/<id>/
      interactions/date=…/channel=…/data.parquet
      conversation_events/date=…/data.parquet
      raw_event_counts/date=…/provider=…/data.parquet     (per minute, kind, failed or not)
      conversations/data.parquet                        (per-conversation resolution metrics)
      marts.duckdb                                      (tables built from marts/*.sql)
      manifest.json                                     (watermark, row counts, validation)

An export starts from the published snapshot (hard links, nothing copied), rewrites only the
partitions that changed since its watermark, and is published by swapping `current`: a reader
sees the old export or the new one, never half of one. Nothing changed, nothing is written, so
running it twice gives the same files and numbers.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, func, select

from analytics import resolution
from analytics.privacy import Privacy
from switchboard.routing import BusinessHours
from switchboard.store.tables import conversation_events, conversations, interactions, raw_events

MARTS = Path(__file__).with_name("marts")
DATASETS = ("interactions", "conversation_events", "raw_event_counts", "conversations")
# Conversation events carry no insertion time: the days near the watermark are redone.
EVENTS_LOOKBACK = timedelta(days=1)
KEEP_SNAPSHOTS = 3
UTC_TS = pa.timestamp("us", tz="UTC")

INTERACTIONS_SCHEMA = pa.schema(
    [
        ("interaction_id", pa.string()),
        ("customer_id", pa.string()),
        ("conversation_id", pa.string()),
        ("direction", pa.string()),
        ("provider", pa.string()),
        ("occurred_at", UTC_TS),
        ("received_at", UTC_TS),
        ("persisted_at", UTC_TS),
        ("latency_ms", pa.float64()),
        ("status", pa.string()),
        ("delivery_status", pa.string()),
        ("route_queue", pa.string()),
        ("route_priority", pa.int32()),
        ("sla_due_at", UTC_TS),
        ("from_hash", pa.string()),
        ("to_hash", pa.string()),
        ("text", pa.string()),
        ("subject", pa.string()),
        ("has_media", pa.bool_()),
    ]
)
EVENTS_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("conversation_id", pa.string()),
        ("customer_id", pa.string()),
        ("kind", pa.string()),
        ("at", UTC_TS),
        ("seq", pa.int64()),
    ]
)
RAW_COUNTS_SCHEMA = pa.schema(
    [
        ("minute", UTC_TS),
        ("kind", pa.string()),
        ("failed", pa.bool_()),
        ("events", pa.int64()),
    ]
)
CONVERSATIONS_SCHEMA = pa.schema(
    [
        ("conversation_id", pa.string()),
        ("customer_id", pa.string()),
        ("queue", pa.string()),
        ("opened_at", UTC_TS),
        ("first_response_s", pa.float64()),
        ("resolution_s", pa.float64()),
        ("resolution_business_s", pa.float64()),
        ("reopened", pa.bool_()),
        ("fcr", pa.bool_()),
        ("sla_attained", pa.bool_()),
    ]
)
SCHEMAS = {
    "interactions": INTERACTIONS_SCHEMA,
    "conversation_events": EVENTS_SCHEMA,
    "raw_event_counts": RAW_COUNTS_SCHEMA,
    "conversations": CONVERSATIONS_SCHEMA,
}
# Columns that live in the directory names (Hive style), not in the files.
PARTITIONS: dict[str, list[tuple[str, pa.DataType]]] = {
    "interactions": [("date", pa.date32()), ("channel", pa.string())],
    "conversation_events": [("date", pa.date32())],
    "raw_event_counts": [("date", pa.date32()), ("provider", pa.string())],
    "conversations": [],
}


@dataclass
class Watermark:
    """How far the published export has read the store."""

    interactions_updated_at: datetime | None = None
    raw_event_id: int = 0
    events_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "interactions_updated_at": _iso(self.interactions_updated_at),
            "raw_event_id": self.raw_event_id,
            "events_at": _iso(self.events_at),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Watermark:
        return cls(
            _parse(data.get("interactions_updated_at")),
            int(data.get("raw_event_id", 0)),
            _parse(data.get("events_at")),
        )


@dataclass
class Staged:
    """An export written to its staging directory, not yet published."""

    path: Path
    watermark: Watermark
    changed: bool
    rows: dict[str, int] = field(default_factory=dict)  # rows written, by dataset
    partitions: list[str] = field(default_factory=list)  # partitions rewritten


def current(root: Path) -> Path | None:
    """The published snapshot, if there is one."""
    link = root / "current"
    return link.resolve() if link.exists() else None


def published_watermark(root: Path) -> Watermark:
    snapshot = current(root)
    if snapshot is None:
        return Watermark()
    manifest = json.loads((snapshot / "manifest.json").read_text())
    return Watermark.from_json(manifest["watermark"])


def stage(
    engine: Engine, root: Path, privacy: Privacy, hours: BusinessHours, now: datetime
) -> Staged:
    """Write the partitions that changed since the published watermark to a staging copy."""
    previous = published_watermark(root)
    high = _high_watermark(engine)
    if (
        high.interactions_updated_at == previous.interactions_updated_at
        and high.raw_event_id == previous.raw_event_id
        and high.events_at == previous.events_at
        and current(root) is not None
    ):
        return Staged(path=current(root) or root, watermark=previous, changed=False)

    staging = root / "staging" / uuid.uuid4().hex
    published = current(root)
    if published is not None:
        shutil.copytree(published, staging, copy_function=os.link)
        (staging / "marts.duckdb").unlink(missing_ok=True)  # rebuilt, never written in place
        (staging / "manifest.json").unlink(missing_ok=True)
    else:
        staging.mkdir(parents=True)
    staged = Staged(path=staging, watermark=high, changed=True)
    _stage_interactions(engine, staging, privacy, previous, high, staged)
    _stage_events(engine, staging, previous, high, staged)
    _stage_raw_counts(engine, staging, previous, high, staged)
    _stage_conversations(engine, staging, hours, now, staged)
    build_marts(staging)
    return staged


def publish(root: Path, staged: Staged, validation: list[dict[str, Any]]) -> Path:
    """Make the staged export the current one, atomically; keep the last few snapshots."""
    manifest = {
        "watermark": staged.watermark.to_json(),
        "rows": staged.rows,
        "partitions": staged.partitions,
        "published_at": datetime.now(UTC).isoformat(),
        "validation": validation,
    }
    (staged.path / "manifest.json").write_text(json.dumps(manifest, indent=2))
    snapshots = root / "snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
    # Names sort by time: the newest snapshots are kept.
    target = snapshots / (datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + "-" + staged.path.name)
    staged.path.rename(target)
    link = root / f".current-{uuid.uuid4().hex}"
    link.symlink_to(target.relative_to(root))
    link.replace(root / "current")  # rename(2): atomic
    for old in sorted(snapshots.iterdir())[:-KEEP_SNAPSHOTS]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def discard(staged: Staged) -> None:
    """Drop a staged export that will not be published (it failed validation)."""
    if staged.changed:
        shutil.rmtree(staged.path, ignore_errors=True)


def build_marts(snapshot: Path) -> None:
    """Run every marts/*.sql over the snapshot's Parquet into snapshot/marts.duckdb."""
    con = duckdb.connect(str(snapshot / "marts.duckdb"))
    try:
        kinds = {name: register(con, snapshot, name) for name in DATASETS}
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
    schema = SCHEMAS[name]
    for column, kind in PARTITIONS[name]:
        schema = schema.append(pa.field(column, kind))
    # A table, not a registered Arrow object: cursors of the connection must see it too.
    con.from_arrow(schema.empty_table()).create(name)
    return "TABLE"


# --- datasets --------------------------------------------------------------------------------


def _stage_interactions(
    engine: Engine,
    staging: Path,
    privacy: Privacy,
    previous: Watermark,
    high: Watermark,
    staged: Staged,
) -> None:
    changed = select(interactions.c.occurred_at, interactions.c.channel)
    if previous.interactions_updated_at is not None:
        changed = changed.where(interactions.c.updated_at > previous.interactions_updated_at)
    with engine.connect() as conn:
        partitions = {(at.date(), channel) for at, channel in conn.execute(changed)}
    rows = 0
    for day, channel in sorted(partitions):
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
            records = [_interaction_record(r, privacy) for r in conn.execute(query).mappings()]
        path = staging / "interactions" / f"date={day}" / f"channel={channel}"
        _write(path, records, INTERACTIONS_SCHEMA)
        staged.partitions.append(str(path.relative_to(staging)))
        rows += len(records)
    staged.rows["interactions"] = rows


def _stage_events(
    engine: Engine, staging: Path, previous: Watermark, high: Watermark, staged: Staged
) -> None:
    days = select(conversation_events.c.at)
    if previous.events_at is not None:
        days = days.where(conversation_events.c.at >= previous.events_at - EVENTS_LOOKBACK)
    with engine.connect() as conn:
        changed = sorted({at.date() for (at,) in conn.execute(days)})
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
        _write(path, records, EVENTS_SCHEMA)
        staged.partitions.append(str(path.relative_to(staging)))
        rows += len(records)
    staged.rows["conversation_events"] = rows


def _stage_raw_counts(
    engine: Engine, staging: Path, previous: Watermark, high: Watermark, staged: Staged
) -> None:
    new = select(raw_events.c.received_at).where(raw_events.c.raw_event_id > previous.raw_event_id)
    with engine.connect() as conn:
        changed = sorted({at.date() for (at,) in conn.execute(new)})
    rows = 0
    for day in changed:
        start, end = _day(day)
        query = select(
            raw_events.c.received_at,
            raw_events.c.provider,
            raw_events.c.kind,
            raw_events.c.error.is_not(None).label("failed"),
        ).where(raw_events.c.received_at >= start, raw_events.c.received_at < end)
        counts: dict[tuple[str, datetime, str, bool], int] = defaultdict(int)
        with engine.connect() as conn:
            for at, provider, kind, failed in conn.execute(query):
                counts[(provider, at.replace(second=0, microsecond=0), kind, bool(failed))] += 1
        by_provider: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for (provider, minute, kind, failed), n in sorted(counts.items()):
            by_provider[provider].append(
                {"minute": minute, "kind": kind, "failed": failed, "events": n}
            )
        for provider, records in by_provider.items():
            path = staging / "raw_event_counts" / f"date={day}" / f"provider={provider}"
            _write(path, records, RAW_COUNTS_SCHEMA)
            staged.partitions.append(str(path.relative_to(staging)))
            rows += len(records)
    staged.rows["raw_event_counts"] = rows


def _stage_conversations(
    engine: Engine, staging: Path, hours: BusinessHours, now: datetime, staged: Staged
) -> None:
    """Per-conversation metrics, as `switchboard metrics` defines them (rewritten whole)."""
    events, contacts = resolution.load(engine)
    with engine.connect() as conn:
        queues = {
            row.conversation_id: row.queue
            for row in conn.execute(select(conversations.c.conversation_id, conversations.c.queue))
        }
    metrics = resolution.per_conversation(events, contacts, hours, now, timedelta(days=7))
    records = [
        {
            "conversation_id": m.conversation_id,
            "customer_id": m.customer_id,
            "queue": queues.get(m.conversation_id),
            "opened_at": m.opened_at,
            "first_response_s": _seconds(m.first_response),
            "resolution_s": _seconds(m.resolution),
            "resolution_business_s": _seconds(m.resolution_business),
            "reopened": m.reopened,
            "fcr": m.fcr,
            "sla_attained": m.sla_attained,
        }
        for m in sorted(metrics, key=lambda m: m.conversation_id)
    ]
    path = staging / "conversations"
    shutil.rmtree(path, ignore_errors=True)
    _write(path, records, CONVERSATIONS_SCHEMA)
    staged.rows["conversations"] = len(records)


# --- helpers ---------------------------------------------------------------------------------


def _high_watermark(engine: Engine) -> Watermark:
    with engine.connect() as conn:
        return Watermark(
            conn.execute(select(func.max(interactions.c.updated_at))).scalar_one(),
            int(conn.execute(select(func.max(raw_events.c.raw_event_id))).scalar_one() or 0),
            conn.execute(select(func.max(conversation_events.c.at))).scalar_one(),
        )


def _interaction_record(row: Any, privacy: Privacy) -> dict[str, Any]:
    content = row["content"] or {}
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
    }


def _write(directory: Path, records: Iterable[dict[str, Any]], schema: pa.Schema) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "data.parquet"
    # A new file under a temporary name, then renamed over the old one: the old file may be a
    # hard link shared with the published snapshot, which must not change under a reader.
    scratch = directory / f".data-{uuid.uuid4().hex}.parquet"
    pq.write_table(pa.Table.from_pylist(list(records), schema=schema), scratch, compression="zstd")
    scratch.replace(target)


def _day(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
