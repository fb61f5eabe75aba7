"""Reprocess throughput: 10,000 archived raw events through `switchboard reprocess`.

A real `switchboard up` (embedded Temporal, one worker process, SQLite); its store is seeded
with signed-SMS raw events (from 500 customers) that have no interaction yet, as after a parser
fix; then the real CLI reprocesses them. Baseline, same server, same run: as many bare
workflows with one local activity, 64 in flight like the CLI's default.

    .venv/bin/python -m bench.reprocess [--count 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from temporalio.client import Client

from runtime.benchmark.baseline import baseline_worker, run_baseline
from runtime.benchmark.stack import running_stack
from runtime.processes import switchboard_argv
from runtime.simulate import new_message_sid, sms_fields
from switchboard.store import Store
from switchboard.store.tables import interactions, raw_events

RESULTS = Path(__file__).with_name("results")


def seed(store: Store, count: int, received_at: datetime) -> None:
    rows = []
    for i in range(count):
        sid = new_message_sid()
        sender = f"+1415555{i % 500:04d}"
        rows.append(
            {
                "provider": "twilio",
                "kind": "sms",
                "event_key": sid,
                "received_at": received_at,
                "url": "http://127.0.0.1/webhooks/twilio/sms",
                "content_type": "application/x-www-form-urlencoded",
                "fields": [list(p) for p in sms_fields(sid, sender, "+14155550100", f"m{i}")],
                "headers": [],
                "error": None,
            }
        )
    with store.engine.begin() as conn:
        conn.execute(raw_events.insert(), rows)


async def baseline(client: Client, count: int, concurrency: int) -> float:
    """Bare workflows per second, `concurrency` in flight."""
    slots = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with slots:
            await run_baseline(client, f"bench-base-{secrets.token_hex(8)}")

    async with baseline_worker(client):
        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        return count / (time.perf_counter() - started)


async def main(count: int) -> dict[str, object]:
    async with running_stack({"SWITCHBOARD_TWILIO_AUTH_TOKEN": secrets.token_hex(16)}) as stack:
        store = Store.from_url(f"sqlite:///{stack.data_dir / 'switchboard.db'}")
        since = datetime.now(UTC) - timedelta(minutes=1)
        seed(store, count, datetime.now(UTC))
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": stack.temporal_address,
            "SWITCHBOARD_DATA_DIR": str(stack.data_dir),
            "SWITCHBOARD_DATABASE_URL": "",
        }
        started = time.perf_counter()
        cli = subprocess.run(
            [*switchboard_argv(), "reprocess", "--since", since.isoformat()],
            env=env,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - started
        if cli.returncode != 0:
            raise SystemExit(f"reprocess failed:\n{cli.stdout}\n{cli.stderr}")
        with store.engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(interactions)).scalar_one()
        store.close()
        client = await Client.connect(stack.temporal_address)
        bare = await baseline(client, count, 64)
    rate = count / elapsed
    return {
        "raw_events": count,
        "interactions_stored": stored,
        "reprocess_seconds": round(elapsed, 1),
        "reprocess_events_per_s": round(rate, 1),
        "baseline_bare_workflows_per_s": round(bare, 1),
        "ratio_reprocess_to_baseline": round(rate / bare, 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    result = asyncio.run(main(parser.parse_args().count))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reprocess.json").write_text(json.dumps(result, indent=2))
    for key, value in result.items():
        print(f"{key:32} {value}")
