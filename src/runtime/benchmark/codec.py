"""What payload encryption costs per message, in CPU: the codec on against off, same payloads.

A message's payloads are its InteractionWorkflow input (the whole signed request), the results
of its local steps and its result, and the conversation's signal and steps: each is encoded by
the process that writes it and decoded by every one that reads it (the worker at each
activation, replays included). Measured here on a real SMS's input and results, round trips
through the full data converter, with and without the keyring.

    python -m runtime.benchmark.codec [--messages N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

from runtime.simulate import new_message_sid, sms_fields
from switchboard.codec import Keyring
from switchboard.contract import InteractionInput, Provider, RawEvent
from switchboard.converter import data_converter

# Round trips per message: input, five local steps' results, the result, the conversation's
# signal and its two steps; each written once and read about twice (activation, replay).
PAYLOADS_PER_MESSAGE = 10


def _sms() -> InteractionInput:
    sid = new_message_sid()
    return InteractionInput(
        raw=RawEvent(
            provider=Provider.TWILIO,
            kind="sms",
            event_key=sid,
            received_at=datetime.now(UTC),
            url="https://hooks.example.com/webhooks/twilio/sms",
            content_type="application/x-www-form-urlencoded",
            fields=sms_fields(sid, "+14155550123", "+14155550100", "Where is my parcel? " * 4),
        )
    )


async def _per_message_us(encrypted: bool, messages: int) -> float:
    converter = data_converter(Keyring.parse(Keyring.new_entry("bench")) if encrypted else None)
    values = [_sms() for _ in range(messages)]
    started = time.process_time()
    for value in values:
        for _ in range(PAYLOADS_PER_MESSAGE):
            payloads = await converter.encode([value])
            await converter.decode(payloads, [InteractionInput])
            await converter.decode(payloads, [InteractionInput])
    return (time.process_time() - started) / messages * 1e6


async def measure(messages: int) -> dict[str, Any]:
    await _per_message_us(True, 50)  # warm-up: type adapters, AES key schedule
    off = await _per_message_us(False, messages)
    on = await _per_message_us(True, messages)
    return {
        "messages": messages,
        "payload_round_trips_per_message": PAYLOADS_PER_MESSAGE,
        "converter_cpu_us_per_message_encryption_off": round(off),
        "converter_cpu_us_per_message_encryption_on": round(on),
        "codec_cpu_us_per_message": round(on - off),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.messages))))
