"""What payload encryption costs in latency: ack and receipt→persisted, codec on against off.

Encryption has no off switch in Switchboard, so the benchmark builds its own pair: the real
ingress app and the real worker in this process, on the stack's Temporal, each pair with a
client whose data converter has the codec or not, on a task queue and a store of its own.
Rounds alternate (off then on, on then off, …) at the same fixed rate, so drift in the
machine's load falls on both sides; the figures are pooled per side. Every round's senders are
new customers, so each round's conversations run on its own worker.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import select
from temporalio.client import Client

from ingress import create_app
from runtime.benchmark.stack import paced, summary
from runtime.simulate import new_message_sid, sign_twilio, sms_fields
from runtime.worker import build_worker
from switchboard.codec import Keyring
from switchboard.converter import data_converter
from switchboard.settings import IngressSettings
from switchboard.store import Store
from switchboard.store.tables import interactions

PUBLIC_URL = "http://codec-bench.invalid"
TOKEN = "codec-bench-token"


@dataclass
class Side:
    """Latencies in seconds of one side (encryption on or off), pooled over its rounds."""

    ack: list[float] = field(default_factory=list)
    persisted: list[float] = field(default_factory=list)


async def measure(
    temporal_address: str, scratch: Path, messages: int, rate: float, rounds: int = 2
) -> dict[str, Any]:
    """`rounds` rounds per side of `messages` signed SMS at `rate` per second."""
    entry = Keyring.new_entry("bench")
    scratch.mkdir(parents=True, exist_ok=True)
    store = Store.from_url(f"sqlite:///{scratch / 'codec-bench.db'}")
    store.migrate()
    sides = {"encryption_off": Side(), "encryption_on": Side()}
    try:
        await _round(temporal_address, store, entry, False, scratch, 20, rate)  # warm-up
        for i in range(rounds):
            # The order alternates too: a side that always went first would pay for a warming
            # machine alone.
            for name in sorted(sides, reverse=i % 2 == 1):
                side, sealed = sides[name], name == "encryption_on"
                got = await _round(temporal_address, store, entry, sealed, scratch, messages, rate)
                side.ack += got.ack
                side.persisted += got.persisted
    finally:
        store.close()
    result: dict[str, Any] = {"messages_per_side": messages * rounds, "rate_per_s": rate}
    for name, side in sides.items():
        result[name] = {
            "ack": summary(side.ack),
            "receipt_to_persisted": summary(side.persisted),
        }
    off, on = result["encryption_off"], result["encryption_on"]
    result["ratio_on_to_off"] = {
        "ack_p50": _ratio(on["ack"]["p50_ms"], off["ack"]["p50_ms"]),
        "receipt_to_persisted_p50": _ratio(
            on["receipt_to_persisted"]["p50_ms"], off["receipt_to_persisted"]["p50_ms"]
        ),
    }
    return result


async def _round(
    temporal_address: str,
    store: Store,
    entry: str,
    sealed: bool,
    scratch: Path,
    messages: int,
    rate: float,
) -> Side:
    """One side's round: its own client, worker, ingress app and task queue."""
    keyring = Keyring.parse(entry)
    converter = data_converter(keyring if sealed else None)
    client = await Client.connect(temporal_address, data_converter=converter)
    task_queue = f"codec-bench-{uuid.uuid4()}"
    settings = IngressSettings(  # type: ignore[call-arg]
        _env_file=None,
        public_url=PUBLIC_URL,
        twilio_auth_token=SecretStr(TOKEN),
        task_queue=task_queue,
        data_dir=scratch,
        payload_keys=SecretStr(entry),
    )
    # The app serves the codec endpoints with `keyring`; what it starts goes through `client`.
    app = create_app(settings, keyring, temporal=client, store=store)
    sids = [new_message_sid() for _ in range(messages)]
    prefix = f"415{2 + secrets.randbelow(8)}{secrets.randbelow(100):02d}"  # a valid exchange
    url = PUBLIC_URL + "/webhooks/twilio/sms"
    with ThreadPoolExecutor(max_workers=16) as executor:
        async with (
            build_worker(client, store, task_queue, executor, 16),
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL) as http,
        ):

            async def send(i: int) -> None:
                # Senders of their own: a conversation started by another round's worker
                # would wait for that worker, gone with its round.
                sender = f"+1{prefix}{i:04d}"
                request = sign_twilio(url, sms_fields(sids[i], sender, "+14155550100", "m"), TOKEN)
                response = await http.post(url, content=request.body, headers=request.headers)
                if response.status_code != 200:
                    raise RuntimeError(f"the webhook answered {response.status_code}")

            ack = await paced(messages, rate, send)
            persisted = await _persisted(store, sids, timeout_s=300)
    return Side(ack, persisted)


async def _persisted(store: Store, sids: list[str], timeout_s: float) -> list[float]:
    query = select(interactions.c.received_at, interactions.c.persisted_at).where(
        interactions.c.provider_message_id.in_(sids)
    )
    deadline = time.monotonic() + timeout_s
    while True:
        with store.engine.connect() as conn:
            rows = conn.execute(query).all()
        if len(rows) == len(sids):
            return [(r.persisted_at - r.received_at).total_seconds() for r in rows]
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(rows)} of {len(sids)} messages persisted")
        await asyncio.sleep(0.2)


def _ratio(on: float, off: float) -> float:
    return round(on / off, 2) if off else 0.0
