"""CPU seconds per message, on the Temporal server and in the worker, against a bare workflow.

`switchboard bench` measures throughput, which this noisy 2-core machine moves by ±20 % from run
to run; CPU per message moves less and says where a message's cost lies. One process runs the
worker and starts the workflows (as the ingress would, without HTTP) against a dev server of its
own; the server's CPU is read from its process.

1. bare: the baseline workflow of `switchboard bench` (one local activity), `--count` of them;
2. pipeline: `--count` SMS from 200 senders through InteractionWorkflow, until each is
   persisted and threaded into its customer's conversation.

Usage:  .venv/bin/python -m bench.message_cpu [--count 400] [--plain]

`--plain` runs it without payload encryption, to compare what the codec costs.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psutil
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from bench.sms_latency import write
from ingress.starter import start_interaction
from runtime.benchmark.baseline import baseline_worker, run_baseline
from runtime.simulate import new_message_sid, sms_fields
from runtime.temporal_server import temporal_binary
from runtime.worker import build_worker
from switchboard import routing, search_attributes
from switchboard.codec import Keyring
from switchboard.contract import Channel, Provider, RawEvent
from switchboard.converter import data_converter
from switchboard.store import Store
from switchboard.store.tables import interactions

IN_FLIGHT = 32
SENDERS = 200


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _server() -> psutil.Process:
    for child in psutil.Process().children(recursive=True):
        if "start-dev" in " ".join(child.cmdline()):
            return child
    raise RuntimeError("no dev server among this process's children")


async def _measure(
    count: int, one: Callable[[int], Awaitable[None]], done: Callable[[], bool]
) -> dict[str, float]:
    """Run `one` `count` times, IN_FLIGHT at a time, until `done`: CPU ms per item and rate."""
    server = _server()
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def limited(i: int) -> None:
        async with slots:
            await one(i)

    server_before, own_before = sum(server.cpu_times()[:2]), _own_cpu()
    started = time.perf_counter()
    await asyncio.gather(*(limited(i) for i in range(count)))
    while not done():
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    return {
        "server_cpu_ms": round(1000 * (sum(server.cpu_times()[:2]) - server_before) / count, 1),
        "worker_cpu_ms": round(1000 * (_own_cpu() - own_before) / count, 1),
        "per_s": round(count / elapsed, 1),
    }


def _sms(i: int) -> RawEvent:
    sid = new_message_sid()
    return RawEvent(
        provider=Provider.TWILIO,
        kind="sms",
        event_key=sid,
        received_at=datetime.now(UTC),
        url="https://hooks.example.com/webhooks/twilio/sms",
        content_type="application/x-www-form-urlencoded",
        fields=sms_fields(sid, f"+1415555{1000 + i % SENDERS:04d}", "+14155550100", "hello"),
    )


async def _bare(client: Client, count: int) -> dict[str, float]:
    async with baseline_worker(client):
        await asyncio.gather(*(run_baseline(client, f"warm-{i}") for i in range(20)))

        async def one(i: int) -> None:
            await run_baseline(client, f"bare-{uuid.uuid4().hex}")

        return await _measure(count, one, lambda: True)


async def _pipeline(client: Client, store: Store, count: int) -> dict[str, float]:
    threaded = select(func.count()).where(interactions.c.conversation_id.is_not(None))

    def threaded_count() -> int:
        with store.engine.connect() as conn:
            return int(conn.execute(threaded).scalar_one())

    async def start(raw: RawEvent) -> None:
        await start_interaction(client, "bench", raw, Channel.SMS, timedelta(seconds=10))

    # One message from each sender first: the measured ones find their customer and a
    # running conversation, as most messages do.
    warm = SENDERS
    await asyncio.gather(*(start(_sms(i)) for i in range(warm)))
    while threaded_count() < warm:
        await asyncio.sleep(0.05)

    async def one(i: int) -> None:
        await start(_sms(i))

    return await _measure(count, one, lambda: threaded_count() >= warm + count)


async def main(count: int, encrypted: bool = True) -> dict[str, object]:
    keyring = Keyring.parse(Keyring.new_entry("bench")) if encrypted else None
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=search_attributes.ALL,
        data_converter=data_converter(keyring),
        dev_server_log_level="error",
    )
    try:
        bare = await _bare(env.client, count)
        with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(64) as executor:
            store = Store.from_url(f"sqlite:///{tmp}/bench.db")
            store.migrate()
            async with build_worker(env.client, store, "bench", executor, rules=routing.load()):
                pipeline = await _pipeline(env.client, store, count)
            store.close()
    finally:
        await env.shutdown()
    return {
        "count": count,
        "payloads_encrypted": encrypted,
        "bare_workflow": bare,
        "pipeline_message": pipeline,
        "server_cpu_ratio_pipeline_to_bare": round(
            pipeline["server_cpu_ms"] / bare["server_cpu_ms"], 2
        ),
        "worker_cpu_ratio_pipeline_to_bare": round(
            pipeline["worker_cpu_ms"] / bare["worker_cpu_ms"], 2
        ),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="CPU per message against a bare workflow")
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument(
        "--plain", action="store_true", help="payloads not encrypted (to measure the codec)"
    )
    args = parser.parse_args()
    name = "message_cpu_plain" if args.plain else "message_cpu"
    write(name, asyncio.run(main(args.count, encrypted=not args.plain)))
