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
import secrets
import time
from pathlib import Path

import httpx
from temporalio.client import Client

from runtime.benchmark.baseline import baseline_worker, run_baseline
from runtime.benchmark.stack import paced, running_stack, stored_latencies, summary
from runtime.simulate import new_message_sid, sign_twilio, sms_fields

RESULTS = Path(__file__).with_name("results")


async def bare_baselines(client: Client, count: int, rate: float) -> dict[str, object]:
    """A bare start, and a bare workflow with one local activity, on the same server."""

    async def bare_start(i: int) -> None:
        await client.start_workflow(
            "Unregistered", id=f"bench-start-{secrets.token_hex(8)}", task_queue="nobody"
        )

    starts = await paced(count, rate, bare_start)
    async with baseline_worker(client):

        async def bare_e2e(i: int) -> None:
            await run_baseline(client, f"bench-e2e-{secrets.token_hex(8)}")

        e2e = await paced(count, rate, bare_e2e)
    return {
        "baseline_start_workflow": summary(starts),
        "baseline_workflow_one_local_activity": summary(e2e),
    }


async def main(count: int, rate: float) -> dict[str, object]:
    token = secrets.token_hex(16)
    async with running_stack({"SWITCHBOARD_TWILIO_AUTH_TOKEN": token}) as stack:
        url = stack.base_url + "/webhooks/twilio/sms"
        sids = [new_message_sid() for _ in range(count)]
        async with httpx.AsyncClient(timeout=30) as http:
            # Warm up so the figures pay no first-call costs.
            for _ in range(10):
                warm = sign_twilio(
                    url, sms_fields(new_message_sid(), "+14155550000", "+1", "w"), token
                )
                await http.post(url, content=warm.body, headers=warm.headers)

            async def send(i: int) -> None:
                sender = f"+1415555{1000 + i % 200:04d}"
                req = sign_twilio(url, sms_fields(sids[i], sender, "+14155550100", f"m{i}"), token)
                response = await http.post(url, content=req.body, headers=req.headers)
                if response.status_code != 200:
                    raise RuntimeError(f"webhook answered {response.status_code}")

            started = time.perf_counter()
            ack = await paced(count, rate, send)
            send_s = time.perf_counter() - started

        stored = await stored_latencies(stack, sids, timeout_s=300)
        persisted = stored.persisted
        drain_s = time.perf_counter() - started

        client = await Client.connect(stack.temporal_address)
        baselines = await bare_baselines(client, count, rate)

    result: dict[str, object] = {
        "messages": count,
        "rate_per_s": rate,
        "persisted": len(persisted),
        "send_seconds": round(send_s, 2),
        "all_persisted_after_s": round(drain_s, 2),
        "ack": summary(ack),
        "receipt_to_persisted": summary(persisted),
        "receipt_to_threaded": summary(stored.threaded),
        **baselines,
    }
    start_p50 = baselines["baseline_start_workflow"]["p50_ms"]  # type: ignore[index]
    e2e_p50 = baselines["baseline_workflow_one_local_activity"]["p50_ms"]  # type: ignore[index]
    result["ratio_ack_p50_vs_bare_start"] = round(summary(ack)["p50_ms"] / start_p50, 2)
    result["ratio_persisted_p50_vs_bare_workflow"] = round(
        summary(persisted)["p50_ms"] / e2e_p50, 2
    )
    return result


def write(name: str, figures: dict[str, object]) -> None:
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}_{int(time.time())}.json"
    out.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="SMS ack and receipt→persisted latency")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second")
    args = parser.parse_args()
    write("sms_latency", asyncio.run(main(args.count, args.rate)))
