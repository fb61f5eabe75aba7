"""Ack latency and receipt→persisted latency of signed SMS, against bare Temporal in the same run.

Starts a real `switchboard up` (embedded Temporal, worker, ingress; SQLite) in a temp dir on
free ports, sends N signed SMS at a fixed rate through the real webhook, and measures:

- ack: the webhook's response time (the provider's view);
- receipt→persisted: `persisted_at - received_at` from the store;
- baseline ack: `start_workflow` latency of a bare workflow on the same server;
- baseline end-to-end: start → result of one workflow with one local activity.

Usage:  .venv/bin/python -m bench.sms_latency [--count 500] [--rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import select
from temporalio.client import Client
from temporalio.worker import Worker

from bench.baseline import BaselineWorkflow, noop
from switchboard.simulate import new_message_sid, sign_twilio, sms_fields
from switchboard.store import Store
from switchboard.store.tables import interactions

RESULTS = Path(__file__).with_name("results")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(pct(values, 50) * 1000, 1),
        "p99_ms": round(pct(values, 99) * 1000, 1),
        "mean_ms": round(statistics.fmean(values) * 1000, 1),
    }


async def paced(count: int, rate: float, job: object) -> list[float]:
    """Run `job(i)` `count` times at `rate` per second; return each call's latency."""
    latencies: list[float] = []

    async def one(i: int) -> None:
        started = time.perf_counter()
        await job(i)  # type: ignore[operator]
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


async def main(count: int, rate: float) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
    ports = {"ingress": free_port(), "temporal": free_port(), "ui": free_port()}
    token = secrets.token_hex(16)
    env = {
        **os.environ,
        "SWITCHBOARD_DATA_DIR": str(tmp / "data"),
        "SWITCHBOARD_DATABASE_URL": "",
        "SWITCHBOARD_PUBLIC_URL": "",
        "SWITCHBOARD_INGRESS_PORT": str(ports["ingress"]),
        "SWITCHBOARD_TEMPORAL_PORT": str(ports["temporal"]),
        "SWITCHBOARD_TEMPORAL_UI_PORT": str(ports["ui"]),
        "SWITCHBOARD_TWILIO_AUTH_TOKEN": token,
        "SWITCHBOARD_DEMO": "0",
    }
    up = subprocess.Popen(
        [sys.executable, "-m", "switchboard", "up"],
        env=env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{ports['ingress']}"
    try:
        deadline = time.monotonic() + 120
        async with httpx.AsyncClient(timeout=30) as http:
            while True:
                try:
                    if (await http.get(base + "/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or up.poll() is not None:
                    raise SystemExit("switchboard up did not become ready")
                await asyncio.sleep(0.3)

            client = await Client.connect(f"127.0.0.1:{ports['temporal']}")
            # Warm up both paths so neither pays first-call costs in the figures.
            for _ in range(10):
                sid = new_message_sid()
                req = sign_twilio(
                    base + "/webhooks/twilio/sms",
                    sms_fields(sid, "+14155550000", "+14155550100", "warm"),
                    token,
                )
                await http.post(req.url, content=req.body, headers=req.headers)

            sids = [new_message_sid() for _ in range(count)]
            senders = [f"+1415555{1000 + i % 200:04d}" for i in range(count)]

            async def send(i: int) -> None:
                req = sign_twilio(
                    base + "/webhooks/twilio/sms",
                    sms_fields(sids[i], senders[i], "+14155550100", f"bench message {i}"),
                    token,
                )
                response = await http.post(req.url, content=req.body, headers=req.headers)
                if response.status_code != 200:
                    raise RuntimeError(f"webhook answered {response.status_code}")

            started = time.perf_counter()
            ack = await paced(count, rate, send)
            send_s = time.perf_counter() - started

        store = Store.from_url(f"sqlite:///{tmp / 'data' / 'switchboard.db'}")
        wanted = set(sids)
        deadline = time.monotonic() + 300
        while True:
            with store.engine.connect() as conn:
                rows = conn.execute(
                    select(
                        interactions.c.provider_message_id,
                        interactions.c.received_at,
                        interactions.c.persisted_at,
                    ).where(interactions.c.provider_message_id.in_(wanted))
                ).all()
            if len(rows) == count or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        drain_s = time.perf_counter() - started
        persisted = [(r.persisted_at - r.received_at).total_seconds() for r in rows]
        store.close()

        # Baseline on the same server, same rate: bare start, then start → result.
        async def bare_start(i: int) -> None:
            await client.start_workflow(
                "Unregistered", id=f"bench-start-{secrets.token_hex(8)}", task_queue="nobody"
            )

        base_ack = await paced(count, rate, bare_start)
        with ThreadPoolExecutor(8) as executor:
            async with Worker(
                client,
                task_queue="bench-baseline",
                workflows=[BaselineWorkflow],
                activities=[noop],
                activity_executor=executor,
            ):

                async def bare_e2e(i: int) -> None:
                    await client.execute_workflow(
                        BaselineWorkflow.run,
                        "x",
                        id=f"bench-e2e-{secrets.token_hex(8)}",
                        task_queue="bench-baseline",
                    )

                base_e2e = await paced(count, rate, bare_e2e)
    finally:
        up.terminate()
        up.wait(timeout=60)

    result: dict[str, object] = {
        "messages": count,
        "rate_per_s": rate,
        "persisted": len(persisted),
        "send_seconds": round(send_s, 2),
        "all_persisted_after_s": round(drain_s, 2),
        "ack": summary(ack),
        "receipt_to_persisted": summary(persisted),
        "baseline_start_workflow": summary(base_ack),
        "baseline_workflow_one_local_activity": summary(base_e2e),
    }
    result["ratio_ack_p50_vs_bare_start"] = round(
        result["ack"]["p50_ms"] / max(result["baseline_start_workflow"]["p50_ms"], 0.1),
        2,  # type: ignore[index]
    )
    result["ratio_persisted_p50_vs_bare_workflow"] = round(
        result["receipt_to_persisted"]["p50_ms"]  # type: ignore[index]
        / max(result["baseline_workflow_one_local_activity"]["p50_ms"], 0.1),  # type: ignore[index]
        2,
    )
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second")
    args = parser.parse_args()
    figures = asyncio.run(main(args.count, args.rate))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"sms_latency_{int(time.time())}.json"
    out.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))
    print(f"written to {out}")
