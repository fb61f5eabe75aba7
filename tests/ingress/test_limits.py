"""Bodies bounded while they are read (chunked included), slow bodies timed out, and a cap on
requests in flight."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client

from switchboard.settings import IngressSettings
from switchboard.store import Store
from tests.support.app import Clock, app_client
from tests.support.builders import SMS_PATH, random_phone, signed_sms
from tests.support.settings import ingress_settings

WEBHOOKS = [
    "/webhooks/twilio/sms",
    "/webhooks/twilio/sms/status",
    "/webhooks/twilio/voice",
    "/webhooks/twilio/voice/recording",
    "/webhooks/twilio/voice/transcription",
    "/webhooks/twilio/voice/status",
    "/webhooks/sendgrid/inbound",
    "/webhooks/sendgrid/events",
    "/webhooks/push",
]
CHUNK = 1024 * 1024


class Chunked:
    """A body of `total` bytes sent in 1 MB chunks without a Content-Length; counts what the
    server pulled."""

    def __init__(self, total: int, pause_s: float = 0.0, chunk: int = CHUNK) -> None:
        self.total, self.pause_s, self.chunk, self.sent = total, pause_s, chunk, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            if self.pause_s:
                await asyncio.sleep(self.pause_s)
            self.sent += self.chunk
            yield b"x" * self.chunk


@pytest.fixture
def settings(task_queue: str) -> IngressSettings:
    return ingress_settings(
        task_queue,
        sendgrid_inbound_user="parse",
        sendgrid_inbound_password="secret",
        body_read_timeout_s=1.0,
        max_concurrent_requests=2,
    )


@pytest.mark.parametrize("path", WEBHOOKS)
async def test_a_100_mb_chunked_body_is_refused_before_it_is_read(
    path: str, http: httpx.AsyncClient
) -> None:
    body = Chunked(100 * CHUNK)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if "sendgrid/inbound" in path:
        headers = {
            "content-type": "multipart/form-data; boundary=b",
            "authorization": "Basic cGFyc2U6c2VjcmV0",
        }
    response = await http.post(path, content=body, headers=headers)
    assert response.status_code == 413, response.text
    # Stopped at the limit (40 MB for emails, far less for the others), not at 100 MB.
    assert body.sent <= 41 * CHUNK


async def test_a_slow_body_is_timed_out_and_requests_beyond_the_cap_wait_no_longer(
    settings: IngressSettings, client: Client, store: Store, clock: Clock
) -> None:
    async with app_client(settings, client, store, clock) as http:
        slow = await http.post(
            "/webhooks/twilio/sms",
            content=Chunked(30, pause_s=0.6, chunk=10),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert slow.status_code == 408

        held = [
            asyncio.create_task(
                http.post(
                    "/webhooks/push",
                    content=Chunked(20, pause_s=0.4, chunk=10),
                    headers={"content-type": "application/json"},
                )
            )
            for _ in range(2)
        ]
        await asyncio.sleep(0.2)
        refused = await http.get("/healthz")
        assert refused.status_code == 503 and refused.headers["retry-after"]
        await asyncio.gather(*held)
        assert (await http.get("/healthz")).status_code == 200


BIG = 64 * CHUNK


@pytest.mark.parametrize("path", ["/api/subscriptions", "/api/keys", "/codec/decode"])
async def test_64_mib_chunked_to_the_api_or_the_codec_is_413_and_the_ingress_stays_small(
    path: str, task_queue: str, store: Store, auth: dict[str, str]
) -> None:
    body = Chunked(BIG)
    async with app_client(ingress_settings(task_queue), store=store) as http:
        tracemalloc.start()
        try:
            response = await http.post(
                path, content=body, headers={**auth, "content-type": "application/json"}
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert response.status_code == 413, response.text
    assert body.sent <= 5 * CHUNK  # the API's limit is 1 MiB, the codec's 4 MiB
    # Everything allocated while the request ran, the test's own 1 MB chunks included.
    assert peak < 10 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize("path", ["/api/subscriptions", "/api/keys", "/codec/encode"])
async def test_a_strangers_body_is_not_read_before_the_401(
    path: str, http: httpx.AsyncClient
) -> None:
    body = Chunked(BIG)
    response = await http.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 401
    assert body.sent <= CHUNK


async def test_slow_api_bodies_never_keep_signed_sms_waiting(
    client: Client, store: Store, task_queue: str, auth: dict[str, str]
) -> None:
    """50 authenticated API calls trickling their bodies, against a cap of 20 in flight: they
    are refused (503) or timed out (408), and the webhooks' share keeps SMS flowing."""
    settings = ingress_settings(task_queue, body_read_timeout_s=1.0, max_concurrent_requests=20)
    async with app_client(settings, client, store) as http:
        slow = [
            asyncio.create_task(
                http.post(
                    "/api/keys",
                    content=Chunked(100, pause_s=0.2, chunk=10),
                    headers={**auth, "content-type": "application/json"},
                )
            )
            for _ in range(50)
        ]
        await asyncio.sleep(0.1)  # they hold their slots now
        timings, statuses = [], []
        for _ in range(20):
            _, sms = signed_sms(sender=random_phone())
            began = time.perf_counter()
            response = await http.post(SMS_PATH, content=sms.body, headers=sms.headers)
            timings.append(time.perf_counter() - began)
            statuses.append(response.status_code)
        refused = [r.status_code for r in await asyncio.gather(*slow)]
    assert statuses == [200] * 20
    assert max(timings) < 1.0, f"slowest SMS {max(timings) * 1000:.0f} ms"
    assert set(refused) <= {408, 503} and 408 in refused and 503 in refused
