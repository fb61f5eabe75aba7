"""The minimal app (`bench/minimal_app.py`, a hand-written intake) run beside the stack: its
worker and its ingress as processes of their own, on the stack's Temporal server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import sqlalchemy as sa

from runtime.benchmark.stack import free_port

# Not part of the installed package: `switchboard bench` runs from a checkout.
MINIMAL_APP = Path(__file__).resolve().parents[3] / "bench" / "minimal_app.py"

_messages = sa.table(
    "messages",
    sa.column("message_sid"),
    sa.column("received_at", sa.DateTime()),
    sa.column("persisted_at", sa.DateTime()),
)


@dataclass(frozen=True)
class MinimalApp:
    url: str  # its SMS webhook
    database_url: str
    worker: psutil.Process
    ingress: psutil.Process


@asynccontextmanager
async def running_minimal_app(
    temporal_address: str, database_url: str, token: str
) -> AsyncIterator[MinimalApp]:
    if not MINIMAL_APP.exists():
        raise RuntimeError(f"{MINIMAL_APP} not found: run `switchboard bench` from a checkout")
    port = free_port()
    common = ["--temporal", temporal_address, "--database-url", database_url]
    argv = [sys.executable, str(MINIMAL_APP)]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    worker = subprocess.Popen([*argv, "worker", *common], **quiet)  # type: ignore[call-overload]
    ingress = subprocess.Popen(  # type: ignore[call-overload]
        [*argv, "ingress", *common, "--port", str(port), "--auth-token", token], **quiet
    )
    url = f"http://127.0.0.1:{port}/sms"
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=5) as http:
            while True:
                try:
                    if (await http.post(url)).status_code == 403:  # unsigned: refused, so up
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or ingress.poll() is not None:
                    raise RuntimeError("the minimal app did not start")
                await asyncio.sleep(0.3)
        yield MinimalApp(url, database_url, psutil.Process(worker.pid), psutil.Process(ingress.pid))
    finally:
        for process in (ingress, worker):
            process.terminate()
            process.wait(timeout=30)


async def minimal_latencies(database_url: str, sids: list[str], timeout_s: float) -> list[float]:
    """Receipt→persisted of the messages `sids`, once all are in its table (or at timeout)."""
    engine = sa.create_engine(database_url)
    query = sa.select(_messages.c.received_at, _messages.c.persisted_at).where(
        _messages.c.message_sid.in_(sids)
    )
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            with engine.connect() as conn:
                rows = conn.execute(query).all()
            if len(rows) == len(sids) or time.monotonic() > deadline:
                return [(r.persisted_at - r.received_at).total_seconds() for r in rows]
            await asyncio.sleep(0.2)
    finally:
        engine.dispose()
