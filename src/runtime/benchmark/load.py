"""The load generator: signed SMS from many senders, the same for every system measured."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from runtime.benchmark.stack import paced
from runtime.simulate import sign_twilio, sms_fields

SENDERS = 200  # distinct customers, so conversations see a few messages each, not a flood


@dataclass
class Sent:
    ack: list[float]  # seconds per request, retries after a 503 included
    refused: int  # requests answered 503 or dropped, then sent again as a provider does


async def send_sms(
    url: str, token: str, sids: list[str], rate: float | None, in_flight: int
) -> Sent:
    """POST one signed SMS webhook per sid to `url`, at `rate` per second (None: as fast as
    `in_flight` concurrent requests go); each must end answered 200."""
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
            sender = f"+1415555{1000 + i % SENDERS:04d}"
            request = sign_twilio(url, sms_fields(sids[i], sender, "+14155550100", "m"), token)
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

        if rate is not None:
            return Sent(await paced(len(sids), rate, send), refused)
        ack: list[float] = []

        async def timed(i: int) -> None:
            t0 = time.perf_counter()
            await send(i)
            ack.append(time.perf_counter() - t0)

        await asyncio.gather(*(timed(i) for i in range(len(sids))))
        return Sent(ack, refused)
