"""`switchboard bench`: Switchboard against a hand-written intake and bare Temporal, one run.

Per store (SQLite, PostgreSQL), on one embedded stack (`switchboard up`, its export schedule
running as in production) and its Temporal server:

1. bare Temporal: workflows with one local activity, started at the maximum rate by a client
   in a process of its own (`python -m runtime.benchmark.baseline`), the physical limit;
2. the minimal app (`bench/minimal_app.py`) and Switchboard, the same signed SMS from the same
   load generator (`load`), each in turn: the maximum rate (64 requests in flight), then half
   of Switchboard's maximum (or `--rate`) for the latencies, then a burst at ten times that
   (up to 640 in flight) for peak memory; Switchboard also 10 s at three times its maximum,
   for requests refused with 503;
3. payload encryption: its CPU per message (before the stacks start) and its cost in ack and
   receipt→persisted latency, on against off side by side (`codec_latency`).

A message counts once its workflow is done: stored (the minimal app), persisted and threaded
into its conversation (Switchboard); one not through within 10 minutes is left out of the
figures, and `through` says how many were. The processes are sampled for CPU and peak RSS per role.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psutil

from runtime.benchmark import codec, codec_latency
from runtime.benchmark.load import send_sms
from runtime.benchmark.minimal import MinimalApp, minimal_latencies, running_minimal_app
from runtime.benchmark.postgres import throwaway_postgresql
from runtime.benchmark.sampler import Sampler, stack_processes
from runtime.benchmark.stack import Stack, running_stack, stored_latencies, summary
from runtime.simulate import new_message_sid

STORES = ("sqlite", "postgresql")
TIMEOUT_S = 600
BASELINE = (sys.executable, "-m", "runtime.benchmark.baseline")
# The codec's latency pair runs an ingress and a worker in the benchmark's own process: a rate
# it keeps up with, so the comparison is of latencies, not of a backlog.
CODEC_LATENCY_RATE = 20.0


async def _measure(
    system: Stack | MinimalApp,
    token: str,
    count: int,
    rate: float | None,
    in_flight: int = 64,
    processes: dict[str, list[psutil.Process]] | None = None,
) -> dict[str, Any]:
    """Send `count` SMS to `system` and wait until all are through; figures, and the CPU and
    peak RSS of `processes` meanwhile."""
    sids = [new_message_sid() for _ in range(count)]
    with Sampler(processes or {}) as sampler:
        started = time.perf_counter()
        if isinstance(system, Stack):
            sent = await send_sms(
                system.base_url + "/webhooks/twilio/sms", token, sids, rate, in_flight
            )
            stored = await stored_latencies(system, sids, timeout_s=TIMEOUT_S)
            persisted, threaded = stored.persisted, stored.threaded
            done = len(threaded)
        else:
            sent = await send_sms(system.url, token, sids, rate, in_flight)
            persisted = await minimal_latencies(system.database_url, sids, TIMEOUT_S)
            threaded, done = [], len(persisted)
        elapsed = time.perf_counter() - started
    if not done:
        raise RuntimeError(f"none of {count} messages through within {TIMEOUT_S} s")
    figures: dict[str, Any] = {
        "messages": count,
        # Fewer than sent: the rest were not through within TIMEOUT_S (figures of those that were).
        "through": done,
        "rate_per_s": None if rate is None else round(rate, 1),
        "messages_per_s": round(count / elapsed, 1),
        "refused_then_retried": sent.refused,
        "ack": summary(sent.ack),
        "receipt_to_persisted": summary(persisted),
        "cpu_ms_per_message": {r: round(v / count * 1000, 1) for r, v in sampler.cpu.items()},
        "peak_rss_mb": sampler.peak_rss_mb(),
    }
    if isinstance(system, Stack):
        figures["threaded"] = len(threaded)
        if threaded:
            figures["receipt_to_threaded"] = summary(threaded)
    return figures


async def _pipeline(
    stack: Stack, token: str, count: int, rate: float | None, in_flight: int = 64
) -> dict[str, Any]:
    """Switchboard alone (the scripts in bench/ that need no comparison)."""
    return await _measure(stack, token, count, rate, in_flight)


def _bare(stack: Stack, count: int) -> dict[str, Any]:
    temporal = {"temporal": stack_processes(stack)["temporal"]}
    with Sampler(temporal) as sampler:
        out = subprocess.run(
            [*BASELINE, stack.temporal_address, "--count", str(count)],
            capture_output=True,
            text=True,
        )
    # Its figures, printed before it exits (the SDK's core has been seen to abort on the way
    # out, on a machine this loaded: the figures stand).
    lines = out.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"the bare baseline failed: {out.stderr.strip()[-2000:]}")
    result = json.loads(lines[-1])
    # Temporal's CPU includes the baseline's 50 warm-up workflows.
    return {
        "messages_per_s": round(result["per_s"], 1),
        "cpu_ms_per_message": {
            "temporal": round(sampler.cpu["temporal"] / (count + 50) * 1000, 1),
            "worker": round(result["cpu_s"] / count * 1000, 1),  # client and worker, one process
        },
    }


@asynccontextmanager
async def _databases(store: str, tmp: Path) -> AsyncIterator[tuple[str, str]]:
    """The database URLs of Switchboard ("" for its embedded SQLite) and the minimal app."""
    if store == "sqlite":
        yield "", f"sqlite:///{tmp / 'minimal.db'}"
        return
    with throwaway_postgresql(("switchboard", "minimal")) as urls:
        yield urls["switchboard"], urls["minimal"]


async def bench_store(store: str, count: int, rate: float | None) -> dict[str, Any]:
    """The three systems side by side on `store`, one stack, one Temporal server."""
    token = secrets.token_hex(16)
    tmp = Path(tempfile.mkdtemp(prefix="switchboard-bench-minimal-"))
    async with _databases(store, tmp) as (switchboard_url, minimal_url):
        settings = {
            "SWITCHBOARD_TWILIO_AUTH_TOKEN": token,
            "SWITCHBOARD_DATABASE_URL": switchboard_url,
        }
        async with (
            running_stack(settings) as stack,
            running_minimal_app(stack.temporal_address, minimal_url, token) as minimal,
        ):
            ours = stack_processes(stack)
            theirs = {
                "temporal": ours["temporal"],
                "worker": [minimal.worker],
                "ingress": [minimal.ingress],
            }
            bare = _bare(stack, count)
            # Warm-up: first calls pay for imports, connections, caches.
            await _measure(minimal, token, 50, 50.0)
            await _measure(stack, token, 50, 50.0)
            minimal_max = await _measure(minimal, token, count, None, processes=theirs)
            switchboard_max = await _measure(stack, token, count, None, processes=ours)
            half = rate or switchboard_max["messages_per_s"] / 2
            minimal_half = await _measure(minimal, token, count, half, processes=theirs)
            switchboard_half = await _measure(stack, token, count, half, processes=ours)
            minimal_burst = await _measure(minimal, token, count, 10 * half, 640, theirs)
            switchboard_burst = await _measure(stack, token, count, 10 * half, 640, ours)
            triple = 3 * switchboard_max["messages_per_s"]
            surge = await _measure(stack, token, round(10 * triple), triple, 640, ours)
            # Encryption on against off, side by side on this Temporal (`codec_latency`).
            encryption = await codec_latency.measure(
                stack.temporal_address,
                tmp / "codec-bench",
                messages=min(count, 200),
                rate=min(half, CODEC_LATENCY_RATE),
            )
    best = switchboard_max["messages_per_s"]
    return {
        "store": store,
        "load_average": [round(v, 1) for v in os.getloadavg()],
        "bare": bare,
        "minimal": {"max_rate": minimal_max, "half_rate": minimal_half, "burst": minimal_burst},
        "switchboard": {
            "max_rate": switchboard_max,
            "half_rate": switchboard_half,
            "burst": switchboard_burst,
            "surge_3x_10s": surge,
        },
        "ratio_switchboard_to_minimal": round(best / minimal_max["messages_per_s"], 2),
        "ratio_switchboard_to_bare": round(best / bare["messages_per_s"], 2),
        "encryption_latency": encryption,
    }


async def bench(count: int, rate: float | None, stores: tuple[str, ...] = STORES) -> dict[str, Any]:
    # Before the stacks start, so nothing else competes for the CPU it measures.
    result: dict[str, Any] = {"encryption": await codec.measure(2000)}
    for store in stores:
        result[store] = await bench_store(store, count, rate)
    # The codec's latency cost, from the first store's run (the pair keeps a SQLite store).
    result["encryption"]["latency"] = result[stores[0]]["encryption_latency"]
    return result
