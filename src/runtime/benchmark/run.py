"""`switchboard bench`: the pipeline against bare Temporal on the same embedded stack, one run.

1. the baseline: bare workflows with one local activity, started at the maximum rate by a
   client in a process of its own (`python -m runtime.benchmark.baseline`);
2. the pipeline at a fixed rate (half the baseline's unless `--rate`): signed SMS through the
   real ingress, ack latency per request, receipt→persisted and receipt→threaded (into the
   customer's conversation) from the store;
3. the pipeline at the maximum rate (64 requests in flight): sustained messages/s from the
   first request to the last message persisted and threaded;
4. a burst: ten times the fixed rate (up to 640 requests in flight), refused requests retried
   after their Retry-After as a provider would; how long the backlog takes to drain.

Meanwhile the processes of `switchboard up` are sampled for peak RSS and CPU time, the burst
on its own: its peak RSS is what bounds the worker's memory.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import psutil

from runtime.benchmark import codec
from runtime.benchmark.stack import (
    Stack,
    paced,
    running_stack,
    stored_latencies,
    summary,
)
from runtime.simulate import new_message_sid, sign_twilio, sms_fields

ROLES = ("temporal", "worker", "ingress")


def _role(process: psutil.Process) -> str | None:
    command = " ".join(process.cmdline())
    if "start-dev" in command:
        return "temporal"
    for role in ("worker", "ingress"):
        if command.endswith(f"switchboard {role}"):
            return role
    return None


@dataclass
class Sampler:
    """Peak RSS and CPU seconds of Temporal, the workers and the ingress while it runs.

    A role with several processes (`SWITCHBOARD_WORKERS`) counts their sum.
    """

    processes: dict[str, list[psutil.Process]]
    peak_rss: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def of(cls, stack: Stack) -> Sampler:
        found: dict[str, list[psutil.Process]] = {}
        for child in psutil.Process(stack.pid).children(recursive=True):
            role = _role(child)
            if role:
                found.setdefault(role, []).append(child)
        return cls(found)

    def _cpu(self) -> dict[str, float]:
        return {r: sum(sum(p.cpu_times()[:2]) for p in ps) for r, ps in self.processes.items()}

    def __enter__(self) -> Sampler:
        self._start = self._cpu()
        threading.Thread(target=self._sample, daemon=True).start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            for role, processes in self.processes.items():
                rss = sum(p.memory_info().rss for p in processes)
                self.peak_rss[role] = max(self.peak_rss.get(role, 0), rss)

    def peak_rss_mb(self) -> dict[str, int]:
        return {r: round(v / 2**20) for r, v in self.peak_rss.items()}

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        end = self._cpu()
        self.cpu = {r: end[r] - self._start[r] for r in end}


async def _pipeline(
    stack: Stack, token: str, count: int, rate: float | None, in_flight: int = 64
) -> dict[str, Any]:
    url = stack.base_url + "/webhooks/twilio/sms"
    sids = [new_message_sid() for _ in range(count)]
    slots = asyncio.Semaphore(in_flight)
    refused = 0
    # Idle connections are dropped before uvicorn's 5 s keep-alive ends: reusing one the server
    # is closing would fail the request (a sender waits out a 5 s Retry-After on it).
    limits = httpx.Limits(
        max_connections=in_flight, max_keepalive_connections=in_flight, keepalive_expiry=2
    )
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:

        async def send(i: int) -> None:
            nonlocal refused
            fields = sms_fields(sids[i], f"+1415555{1000 + i % 200:04d}", "+14155550100", "m")
            request = sign_twilio(url, fields, token)
            while True:
                try:
                    async with slots:
                        response = await http.post(
                            url, content=request.body, headers=request.headers
                        )
                except httpx.TransportError:
                    # A connection dropped under load: the provider sends the message again.
                    refused += 1
                    await asyncio.sleep(1)
                    continue
                if response.status_code != 503:
                    break
                # Not durable yet: a provider keeps the message and retries as told.
                refused += 1
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
            if response.status_code != 200:
                raise RuntimeError(f"the webhook answered {response.status_code}")

        started = time.perf_counter()
        if rate is None:
            ack: list[float] = []

            async def timed(i: int) -> None:
                t0 = time.perf_counter()
                await send(i)
                ack.append(time.perf_counter() - t0)

            await asyncio.gather(*(timed(i) for i in range(count)))
        else:
            ack = await paced(count, rate, send)
    # A message is through once persisted and threaded into its conversation.
    stored = await stored_latencies(stack, sids, timeout_s=600)
    elapsed = time.perf_counter() - started
    if len(stored.threaded) < count:
        raise RuntimeError(
            f"only {len(stored.persisted)} of {count} messages persisted and "
            f"{len(stored.threaded)} threaded within 600 s"
        )
    return {
        "messages": count,
        "refused_then_retried": refused,
        "persisted": len(stored.persisted),
        "messages_per_s": round(count / elapsed, 1),
        "ack": summary(ack),
        "receipt_to_persisted": summary(stored.persisted),
        "receipt_to_threaded": summary(stored.threaded),
    }


async def bench(count: int, rate: float | None) -> dict[str, Any]:
    # Before the stack starts, so nothing else competes for the CPU it measures.
    encryption = await codec.measure(2000)
    token = secrets.token_hex(16)
    settings = {"SWITCHBOARD_TWILIO_AUTH_TOKEN": token, "SWITCHBOARD_EXPORT_INTERVAL_S": "3600"}
    async with running_stack(settings) as stack:
        baseline = subprocess.run(
            [
                sys.executable,
                "-m",
                "runtime.benchmark.baseline",
                stack.temporal_address,
                "--count",
                str(count),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        baseline_rate = float(json.loads(baseline.stdout.strip().splitlines()[-1])["per_s"])
        fixed_rate = rate or baseline_rate / 2
        await _pipeline(stack, token, 50, 50.0)  # warm-up: first calls pay for imports
        with Sampler.of(stack) as sampler:
            fixed = await _pipeline(stack, token, count, fixed_rate)
            maximum = await _pipeline(stack, token, count, None)
        with Sampler.of(stack) as burst_sampler:
            burst = await _pipeline(stack, token, count, 10 * fixed_rate, in_flight=640)
    total_cpu = sum(sampler.cpu.values()) or 1.0
    return {
        "worker_processes": len(sampler.processes.get("worker", [])),
        "baseline_workflows_per_s": round(baseline_rate, 1),
        "fixed_rate": {"rate_per_s": round(fixed_rate, 1), **fixed},
        "max_rate": maximum,
        "ratio_pipeline_to_baseline": round(maximum["messages_per_s"] / baseline_rate, 2),
        "peak_rss_mb": sampler.peak_rss_mb(),
        "cpu_share": {r: round(v / total_cpu, 2) for r, v in sampler.cpu.items()},
        "cpu_seconds": {r: round(v, 1) for r, v in sampler.cpu.items()},
        "encryption": encryption,
        "burst": {
            "rate_per_s": round(10 * fixed_rate, 1),
            **burst,
            "peak_rss_mb": burst_sampler.peak_rss_mb(),
        },
    }
