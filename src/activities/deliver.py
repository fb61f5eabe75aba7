"""attempt_delivery: one signed POST of one event to one subscriber, recorded in the log."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from temporalio import activity

from switchboard import egress
from switchboard.contract import (
    ATTEMPT_DELIVERY,
    AttemptInput,
    AttemptOutcome,
    AttemptResult,
    DeliveryStatus,
)
from switchboard.store import Store
from switchboard.store.subscriptions import SubscriptionStore

# Enough of the receiver's answer to see what went wrong; never its whole body.
EXCERPT_CHARS = 200


def retry_after_s(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(value) - now).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


class DeliveryActivities:
    """Built once in the worker with the store, an HTTP client and whether private
    addresses are allowed (development and tests only)."""

    def __init__(self, store: Store, http: httpx.AsyncClient, allow_private: bool = False) -> None:
        self.store = store
        self.subscriptions = SubscriptionStore(store.engine)
        self.http = http
        self.allow_private = allow_private

    @activity.defn(name=ATTEMPT_DELIVERY)
    async def attempt_delivery(self, inp: AttemptInput) -> AttemptResult:
        delivery = await asyncio.to_thread(self.subscriptions.delivery, inp.delivery_id)
        if delivery is None:  # its subscription was deleted meanwhile
            return AttemptResult(AttemptOutcome.FAILED)
        if not delivery["enabled"]:
            await self._record(inp, AttemptOutcome.FAILED, error="subscription disabled")
            return AttemptResult(AttemptOutcome.FAILED)
        body = await asyncio.to_thread(self._body, delivery)
        try:
            target = await egress.resolve(delivery["url"], self.allow_private)
        except egress.RefusedUrl as exc:
            await self._record(inp, AttemptOutcome.FAILED, error=str(exc))
            return AttemptResult(AttemptOutcome.FAILED)
        started = time.perf_counter()
        try:
            code, excerpt, retry_after = await self._post(target, delivery, body)
        except httpx.TimeoutException:
            return await self._retry(inp, started, error="timed out")
        except httpx.HTTPError as exc:
            return await self._retry(inp, started, error=type(exc).__name__)
        latency_ms = round((time.perf_counter() - started) * 1000)
        answered: dict[str, Any] = {
            "status_code": code,
            "latency_ms": latency_ms,
            "excerpt": excerpt,
        }
        if 200 <= code < 300:
            await self._record(inp, AttemptOutcome.DELIVERED, **answered)
            return AttemptResult(AttemptOutcome.DELIVERED, code)
        if code == 429 or code >= 500:
            await self._record(inp, AttemptOutcome.RETRY, retry_after=retry_after, **answered)
            return AttemptResult(AttemptOutcome.RETRY, code, retry_after)
        if code == 410:
            # The receiver says it is gone for good: stop sending it anything.
            await asyncio.to_thread(
                self.subscriptions.disable,
                delivery["subscription_id"],
                "the receiver answered 410 Gone",
            )
        await self._record(inp, AttemptOutcome.FAILED, error=f"HTTP {code}", **answered)
        return AttemptResult(AttemptOutcome.FAILED, code)

    def _body(self, delivery: dict[str, Any]) -> bytes:
        event = delivery["body"]
        if delivery["include_content"] and delivery["interaction_id"]:
            # Read now, not kept with the event: erased content is never sent.
            interaction = self.store.get_interaction(delivery["interaction_id"])
            content = None if interaction is None else asdict(interaction.content)
            event = {**event, "data": {**event["data"], "content": content}}
        return json.dumps(event, separators=(",", ":")).encode()

    async def _post(
        self, target: egress.Target, delivery: dict[str, Any], body: bytes
    ) -> tuple[int, str, float | None]:
        now = datetime.now(UTC)
        secrets = [delivery["secret"]]
        expires = delivery["previous_secret_expires_at"]
        if delivery["previous_secret"] and expires is not None and expires > now:
            secrets.append(delivery["previous_secret"])
        timestamp = int(now.timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": "Switchboard-Webhooks/1",
            "webhook-id": delivery["event_id"],
            "webhook-timestamp": str(timestamp),
            "webhook-signature": egress.signature(secrets, delivery["event_id"], timestamp, body),
        }
        if target.host_header:
            headers["host"] = target.host_header
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else {}
        request = self.http.build_request(
            "POST", target.url, content=body, headers=headers, extensions=extensions
        )
        response = await self.http.send(request, stream=True, follow_redirects=False)
        try:
            excerpt = b""
            async for chunk in response.aiter_raw():
                excerpt += chunk
                if len(excerpt) >= EXCERPT_CHARS:
                    break
        finally:
            await response.aclose()
        text = excerpt.decode("utf-8", "replace")[:EXCERPT_CHARS]
        return (
            response.status_code,
            text,
            retry_after_s(response.headers.get("retry-after"), now),
        )

    async def _retry(self, inp: AttemptInput, started: float, error: str) -> AttemptResult:
        latency_ms = round((time.perf_counter() - started) * 1000)
        await self._record(inp, AttemptOutcome.RETRY, error=error, latency_ms=latency_ms)
        return AttemptResult(AttemptOutcome.RETRY)

    async def _record(
        self,
        inp: AttemptInput,
        outcome: AttemptOutcome,
        status_code: int | None = None,
        latency_ms: int | None = None,
        excerpt: str | None = None,
        error: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        now = datetime.now(UTC)
        next_attempt_at = None
        if outcome is AttemptOutcome.DELIVERED:
            status = DeliveryStatus.DELIVERED
        elif outcome is AttemptOutcome.FAILED:
            status = DeliveryStatus.FAILED
        elif inp.next_delay_s is None:
            status = DeliveryStatus.DEAD
        else:
            status = DeliveryStatus.PENDING
            wait = max(inp.next_delay_s, retry_after or 0.0)
            next_attempt_at = now + timedelta(seconds=wait)
        await asyncio.to_thread(
            self.subscriptions.record_attempt,
            inp.delivery_id,
            sent=error is None or status_code is not None or latency_ms is not None,
            status=status,
            last_status_code=status_code,
            last_latency_ms=latency_ms,
            last_error=None if error is None else error[:EXCERPT_CHARS],
            response_excerpt=excerpt,
            next_attempt_at=next_attempt_at,
            delivered_at=now if status is DeliveryStatus.DELIVERED else None,
        )
