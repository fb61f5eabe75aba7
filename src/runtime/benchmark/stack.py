"""A real `switchboard up` (embedded Temporal, worker, ingress, SQLite unless
`SWITCHBOARD_DATABASE_URL` is given) in a temp dir."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import select

from runtime.processes import switchboard_argv
from switchboard.store import Store
from switchboard.store.tables import interactions


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Stack:
    base_url: str
    temporal_address: str
    data_dir: Path
    pid: int  # of `switchboard up`; its children are Temporal, the worker, the ingress, …
    database_url: str


@asynccontextmanager
async def running_stack(settings: dict[str, str]) -> AsyncIterator[Stack]:
    """Start `switchboard up` with `settings` (and free ports); stop it on exit."""
    tmp = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
    ingress, temporal, ui = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "SWITCHBOARD_DATA_DIR": str(tmp / "data"),
        "SWITCHBOARD_DATABASE_URL": "",
        "SWITCHBOARD_PUBLIC_URL": "",
        "SWITCHBOARD_INGRESS_PORT": str(ingress),
        "SWITCHBOARD_TEMPORAL_PORT": str(temporal),
        "SWITCHBOARD_TEMPORAL_UI_PORT": str(ui),
        "SWITCHBOARD_DEMO": "0",
        "SWITCHBOARD_WORKER_METRICS_PORT": "0",  # not read here; several workers would clash
        "SWITCHBOARD_DASHBOARD_PORT": str(free_port()),
        **settings,
    }
    up = subprocess.Popen(
        [*switchboard_argv(), "up"],
        env=env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{ingress}"
    try:
        deadline = time.monotonic() + 120
        async with httpx.AsyncClient(timeout=5) as http:
            while True:
                try:
                    if (await http.get(base + "/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or up.poll() is not None:
                    raise SystemExit("switchboard up did not become ready")
                await asyncio.sleep(0.3)
        database_url = env["SWITCHBOARD_DATABASE_URL"] or (
            f"sqlite:///{tmp / 'data' / 'switchboard.db'}"
        )
        yield Stack(base, f"127.0.0.1:{temporal}", tmp / "data", up.pid, database_url)
    finally:
        up.terminate()
        up.wait(timeout=60)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    """p50/p99/mean in milliseconds of latencies in seconds."""
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p99_ms": round(percentile(values, 99) * 1000, 1),
        "mean_ms": round(sum(values) / len(values) * 1000, 1),
    }


async def paced(count: int, rate: float, job: Callable[[int], Awaitable[None]]) -> list[float]:
    """Run `job(i)` `count` times at `rate` per second; return each call's latency."""
    latencies: list[float] = []

    async def one(i: int) -> None:
        started = time.perf_counter()
        await job(i)
        latencies.append(time.perf_counter() - started)

    tasks = []
    t0 = time.perf_counter()
    for i in range(count):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return latencies


@dataclass
class Latencies:
    """Seconds from the ingress's receipt of each message to its steps in the store."""

    persisted: list[float]
    threaded: list[float]  # into its conversation (the interaction's conversation_id set)


async def stored_latencies(stack: Stack, sids: list[str], timeout_s: float) -> Latencies:
    """Latencies of the messages `sids`, once all are persisted and threaded (or at timeout)."""
    store = Store.from_url(stack.database_url)
    query = select(
        interactions.c.received_at,
        interactions.c.persisted_at,
        interactions.c.updated_at,
        interactions.c.conversation_id,
    ).where(interactions.c.provider_message_id.in_(sids))
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            with store.engine.connect() as conn:
                rows = conn.execute(query).all()
            threaded = [r for r in rows if r.conversation_id is not None]
            if len(threaded) == len(sids) or time.monotonic() > deadline:
                # The bench's inbound SMS change only when threaded, so `updated_at` is then:
                # by the conversation a moment later, or by persist itself, in the transaction
                # that stores the message (`store.conversation_threading`): threaded when
                # persisted.
                return Latencies(
                    persisted=[(r.persisted_at - r.received_at).total_seconds() for r in rows],
                    threaded=[(r.updated_at - r.received_at).total_seconds() for r in threaded],
                )
            await asyncio.sleep(0.2)
    finally:
        store.close()
