"""Intake with 0, 1 and 5 subscriptions of every event, side by side on one stack.

Starts a real `switchboard up` (embedded Temporal, worker with its events relay and delivery
worker, ingress; SQLite) with private subscription URLs allowed, and a receiver on 127.0.0.1
that answers 200. For each number of subscriptions (0, then 1, then 5, added through the API)
it sends signed SMS through the real webhook at a fixed rate and at the maximum rate, and
reports ack p99, receipt→persisted p99 and messages/s (`runtime.benchmark.run`'s measures),
then how many events reached the receiver and how long the deliveries took to drain.

Usage:  .venv/bin/python -m bench.events_intake [--count 300] [--rate 10] [--drain-timeout 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from runtime.benchmark.run import _pipeline
from runtime.benchmark.stack import running_stack

RESULTS = Path(__file__).with_name("results")


class Receiver(ThreadingHTTPServer):
    # Deliveries arrive dozens at once: the default backlog of 5 would reset connections
    # (the deliverer's ReadError, retried on the schedule) and measure this receiver instead.
    request_queue_size = 256


class Counter:
    def __init__(self) -> None:
        self.received = 0
        self.lock = threading.Lock()

    def serve(self) -> ThreadingHTTPServer:
        counter = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                with counter.lock:
                    counter.received += 1
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = Receiver(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


async def drained(http: httpx.AsyncClient, ids: list[str], timeout_s: float) -> float | None:
    """Seconds until no delivery of these subscriptions is pending (None: not in time)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        pending = 0
        for sub in ids:
            response = await http.get(
                f"/api/subscriptions/{sub}/deliveries", params={"status": "pending", "limit": 1}
            )
            if response.status_code == 429:  # polled faster than the admin rate limit
                pending += 1
                await asyncio.sleep(float(response.headers["Retry-After"]))
                break
            pending += len(response.json()["items"])
        if pending == 0:
            return round(time.perf_counter() - started, 1)
        await asyncio.sleep(1)
    return None


async def bench(count: int, rate: float, drain_timeout_s: float) -> dict[str, Any]:
    token, key = secrets.token_hex(16), secrets.token_hex(16)
    counter = Counter()
    server = counter.serve()
    hook = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    settings = {
        "SWITCHBOARD_TWILIO_AUTH_TOKEN": token,
        "SWITCHBOARD_API_KEYS": key,
        "SWITCHBOARD_SUBSCRIPTIONS_ALLOW_PRIVATE": "1",
        "SWITCHBOARD_EXPORT_INTERVAL_S": "3600",
    }
    results: dict[str, Any] = {}
    async with running_stack(settings) as stack:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=stack.base_url, headers=headers, timeout=30) as api:
            await _pipeline(stack, token, 50, 50.0)  # warm-up: first calls pay for imports
            subscriptions: list[str] = []
            for wanted in (0, 1, 5):
                while len(subscriptions) < wanted:
                    created = await api.post(
                        "/api/subscriptions", json={"url": hook, "events": "*"}
                    )
                    created.raise_for_status()
                    subscriptions.append(created.json()["id"])
                before = counter.received
                fixed = await _pipeline(stack, token, count, rate)
                maximum = await _pipeline(stack, token, count, None)
                drain_s = await drained(api, subscriptions, timeout_s=drain_timeout_s)
                results[f"{wanted}_subscriptions"] = {
                    "fixed_rate": {
                        "rate_per_s": rate,
                        "ack_p99_ms": fixed["ack"]["p99_ms"],
                        "receipt_to_persisted_p99_ms": fixed["receipt_to_persisted"]["p99_ms"],
                    },
                    "max_rate": {
                        "messages_per_s": maximum["messages_per_s"],
                        "ack_p99_ms": maximum["ack"]["p99_ms"],
                        "receipt_to_persisted_p99_ms": maximum["receipt_to_persisted"]["p99_ms"],
                    },
                    "events_delivered": counter.received - before,
                    "deliveries_drained_after_s": drain_s,
                }
                # As it goes: a long run stopped half-way still leaves its figures.
                print(
                    json.dumps({f"{wanted}_subscriptions": results[f"{wanted}_subscriptions"]}),
                    flush=True,
                )
    server.shutdown()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    args = parser.parse_args()
    result = asyncio.run(bench(args.count, args.rate, args.drain_timeout))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "events_intake.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
