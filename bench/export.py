"""Export throughput and dashboard query latency over 1,000,000 synthetic interactions.

A SQLite store is filled with synthetic interactions (30 days, 4 channels, 20,000 customers) and
their raw events; then one full export (stage: read, Parquet, marts; validate: Great
Expectations; publish) is timed, then an incremental one after 1,000 new interactions, then the
dashboards' queries (the Overview's and the other pages' main ones) on the published export.
Baseline, same run: the same rows written straight to Parquet from memory (no store, no checks).

    .venv/bin/python -m bench.export [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from analytics import export, metrics, quality
from analytics.privacy import Privacy
from switchboard import routing
from switchboard.store import Store
from switchboard.store.tables import customers, interactions, raw_events

RESULTS = Path(__file__).with_name("results")
CHANNELS = ["sms", "voice", "email", "push"]
QUERIES = {
    # The Overview's latency figures: the `latency` macro of analytics/metrics.sql.
    "overview totals": "SELECT * FROM latency(?, NULL, false, false)",
    "overview latency chart": "SELECT * FROM latency(?, NULL, true, false)",
    "ingest rate mart": "SELECT minute, channel, interactions FROM marts.ingest_rate "
    "WHERE minute >= ?",
    "channels": "SELECT channel, count(*), count(DISTINCT customer_id) FROM interactions "
    "WHERE received_at >= ? GROUP BY channel",
    "timeline": "SELECT * FROM interactions WHERE from_hash = ? ORDER BY occurred_at DESC",
}


def seed(store: Store, rows: int, rng: random.Random) -> None:
    now = datetime.now(UTC)
    people = [str(uuid.uuid4()) for _ in range(20_000)]
    with store.engine.begin() as conn:
        conn.execute(customers.insert(), [{"customer_id": c, "created_at": now} for c in people])
    batch: list[dict[str, Any]] = []
    raws: list[dict[str, Any]] = []
    for i in range(rows):
        at = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
        sid = f"SM{i:030d}"
        batch.append(
            {
                "interaction_id": str(uuid.uuid4()),
                "customer_id": people[i % len(people)],
                "conversation_id": None,
                "channel": CHANNELS[i % 4],
                "direction": "inbound",
                "provider": "twilio",
                "provider_message_id": sid,
                "from_address": f"+1415{i % 10_000_000:07d}",
                "to_address": "+14155550100",
                "occurred_at": at,
                "received_at": at,
                "persisted_at": at + timedelta(milliseconds=rng.uniform(50, 400)),
                "updated_at": at,
                "status": "completed",
                "delivery_status": None,
                "content": {"text": "hello"},
                "route_queue": "messaging",
                "route_priority": 2,
                "sla_due_at": None,
            }
        )
        raws.append(
            {
                "provider": "twilio",
                "kind": "sms",
                "event_key": sid,
                "received_at": at,
                "url": "https://hooks.example.com/webhooks/twilio/sms",
                "content_type": "application/x-www-form-urlencoded",
                "fields": [],
                "headers": [],
                "error": None,
            }
        )
        if len(batch) == 20_000:
            with store.engine.begin() as conn:
                conn.execute(interactions.insert(), batch)
                conn.execute(raw_events.insert(), raws)
            batch, raws = [], []
    if batch:
        with store.engine.begin() as conn:
            conn.execute(interactions.insert(), batch)
            conn.execute(raw_events.insert(), raws)


def run_export(store: Store, root: Path) -> tuple[float, export.Staged]:
    started = time.perf_counter()
    staged = export.stage(
        store.engine, root, Privacy(b"bench"), routing.load().hours, datetime.now(UTC)
    )
    results = quality.validate_frames("bench", quality.read_batch(staged.path, staged.partitions))
    assert not quality.failures(results), quality.describe(quality.failures(results))
    export.publish(root, staged, [])
    return time.perf_counter() - started, staged


def baseline(rows: int, root: Path) -> float:
    """The same number of rows written straight to Parquet from memory."""
    table = pa.table(
        {
            "interaction_id": [str(uuid.uuid4()) for _ in range(rows)],
            "latency_ms": [100.0] * rows,
            "received_at": pa.array([0] * rows, pa.timestamp("us", tz="UTC")),
        }
    )
    started = time.perf_counter()
    pq.write_table(table, root / "baseline.parquet", compression="zstd")
    return time.perf_counter() - started


def query_latencies(root: Path) -> dict[str, float]:
    snapshot = export.current(root)
    assert snapshot is not None
    con = duckdb.connect()
    for name in export.DATASETS:
        export.register(con, snapshot, name)
    metrics.define(con)
    con.execute(f"ATTACH '{snapshot / 'marts.duckdb'}' AS marts (READ_ONLY)")
    since = datetime.now(UTC) - timedelta(days=1)
    hashed = Privacy(b"bench").address("+14150000042")
    out = {}
    for name, sql in QUERIES.items():
        params = [hashed] if name == "timeline" else [since]
        timings = []
        for _ in range(7):
            started = time.perf_counter()
            con.execute(sql, params).fetchall()
            timings.append(time.perf_counter() - started)
        out[name] = round(statistics.median(timings) * 1000, 1)
    return out


def main(rows: int) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="switchboard-bench-export-"))
    store = Store.from_url(f"sqlite:///{tmp / 'switchboard.db'}")
    store.migrate()
    started = time.perf_counter()
    seed(store, rows, random.Random(1))
    seeded = time.perf_counter() - started
    root = tmp / "exports"
    full, _ = run_export(store, root)
    # 1,000 interactions change (a status callback each): the next export rewrites their days.
    with store.engine.begin() as conn:
        ids = conn.execute(select(interactions.c.interaction_id).limit(1_000)).scalars().all()
        conn.execute(
            interactions.update()
            .where(interactions.c.interaction_id.in_(ids))
            .values(updated_at=datetime.now(UTC), delivery_status="delivered")
        )
    incremental, again = run_export(store, root)
    bare = baseline(rows, tmp)
    return {
        "interactions": rows,
        "seed_seconds": round(seeded, 1),
        "full_export_seconds": round(full, 1),
        "full_export_rows_per_s": round(rows / full),
        "incremental_export_seconds (1,000 changed rows)": round(incremental, 1),
        "incremental_partitions_rewritten": len(again.partitions),
        "baseline_parquet_write_seconds": round(bare, 2),
        "baseline_rows_per_s": round(rows / bare),
        "ratio_export_to_baseline": round((rows / full) / (rows / bare), 3),
        "dashboard_query_median_ms": query_latencies(root),
        "parquet_bytes": sum(p.stat().st_size for p in root.joinpath("current").rglob("*.parquet")),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    result = main(parser.parse_args().rows)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "export.json").write_text(json.dumps(result, indent=2))
    for key, value in result.items():
        print(f"{key:50} {value}")
