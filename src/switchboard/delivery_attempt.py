"""One attempt to deliver one event: the signed POST, what the answer means, what the log keeps.

Shared by the store-scheduled deliverer (`events_out.deliverer`) and the activity of the
`DeliveryWorkflow` kept for executions started before it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from temporalio.common import MetricMeter

from switchboard import egress
from switchboard.contract import AttemptOutcome, DeliveryStatus
from switchboard.store import Store

# Enough of the receiver's answer to see what went wrong; never its whole body.
EXCERPT_CHARS = 200
# Nobody asks us to wait longer than this between two attempts.
MAX_RETRY_AFTER_S = 24 * 3600.0
# Attempts by outcome, and deliveries given up, by outcome alone (a bounded label set).
DELIVERIES_METRIC = "switchboard_event_deliveries_total"


@dataclass(frozen=True)
class Attempt:
    """What one attempt came to; `sent` is False when nothing left (a refused address)."""

    outcome: AttemptOutcome
    sent: bool = True
    status_code: int | None = None
    latency_ms: int | None = None
    excerpt: str | None = None
    error: str | None = None
    retry_after_s: float | None = None


class DeliveryCounter:
    """`switchboard_event_deliveries_total{outcome}`: each attempt `delivered` or `failed`;
    each delivery given up `exhausted` (every attempt of its schedule failed) or `abandoned` (a
    final answer, a refused address, its subscription disabled)."""

    def __init__(self, meter: MetricMeter) -> None:
        self.counter = meter.create_counter(
            DELIVERIES_METRIC,
            "Event delivery attempts (delivered, failed) and deliveries given up (exhausted, "
            "abandoned).",
        )

    def attempt(self, result: Attempt, status: DeliveryStatus) -> None:
        """One attempt, and the delivery's end if it ended without being delivered."""
        delivered = result.outcome is AttemptOutcome.DELIVERED
        self.counter.add(1, {"outcome": "delivered" if delivered else "failed"})
        if status is DeliveryStatus.DEAD:
            self.counter.add(1, {"outcome": "exhausted"})
        elif status is DeliveryStatus.FAILED:
            self.abandoned(1)

    def abandoned(self, deliveries: int) -> None:
        if deliveries:
            self.counter.add(deliveries, {"outcome": "abandoned"})


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


def event_body(
    store: Store, event: dict[str, Any], interaction_id: str | None, include_content: bool
) -> bytes:
    """The JSON sent: the event as written, with the message content if the subscription
    asked for it, read now and not kept with the event, so erased content is never sent."""
    if include_content and interaction_id:
        interaction = store.get_interaction(interaction_id)
        content = None if interaction is None else asdict(interaction.content)
        event = {**event, "data": {**event["data"], "content": content}}
    return json.dumps(event, separators=(",", ":")).encode()


def secrets_of(subscription: dict[str, Any], now: datetime) -> list[str]:
    """The secrets to sign with: the current one, and the previous during a rotation."""
    found = [subscription["secret"]]
    expires = subscription["previous_secret_expires_at"]
    if subscription["previous_secret"] and expires is not None and expires > now:
        found.append(subscription["previous_secret"])
    return found


async def attempt(
    http: httpx.AsyncClient,
    url: str,
    secrets: list[str],
    event_id: str,
    body: bytes,
    allow_private: bool,
) -> Attempt:
    """POST `body` signed to `url` (checked again now) and classify the answer."""
    try:
        target = await egress.resolve(url, allow_private)
    except egress.RefusedUrl as exc:
        return Attempt(AttemptOutcome.FAILED, sent=False, error=str(exc))
    started = time.perf_counter()
    try:
        code, excerpt, retry_after = await _post(http, target, secrets, event_id, body)
    except httpx.TimeoutException:
        return Attempt(AttemptOutcome.RETRY, latency_ms=_since(started), error="timed out")
    except httpx.HTTPError as exc:
        return Attempt(AttemptOutcome.RETRY, latency_ms=_since(started), error=type(exc).__name__)
    answered: dict[str, Any] = {
        "status_code": code,
        "latency_ms": _since(started),
        "excerpt": excerpt,
    }
    if 200 <= code < 300:
        return Attempt(AttemptOutcome.DELIVERED, **answered)
    if code == 429 or code >= 500:
        return Attempt(AttemptOutcome.RETRY, retry_after_s=retry_after, **answered)
    return Attempt(AttemptOutcome.FAILED, error=f"HTTP {code}", **answered)


def log_values(result: Attempt, next_delay_s: float | None, now: datetime) -> dict[str, Any]:
    """The delivery log's columns after `result`; `next_delay_s` is the schedule's wait before
    the next attempt (None: this was the last, so a retryable failure is dead-lettered)."""
    next_attempt_at = None
    if result.outcome is AttemptOutcome.DELIVERED:
        status = DeliveryStatus.DELIVERED
    elif result.outcome is AttemptOutcome.FAILED:
        status = DeliveryStatus.FAILED
    elif next_delay_s is None:
        status = DeliveryStatus.DEAD
    else:
        status = DeliveryStatus.PENDING
        asked = min(result.retry_after_s or 0.0, MAX_RETRY_AFTER_S)
        next_attempt_at = now + timedelta(seconds=max(next_delay_s, asked))
    return {
        "status": status,
        "last_status_code": result.status_code,
        "last_latency_ms": result.latency_ms,
        "last_error": None if result.error is None else result.error[:EXCERPT_CHARS],
        "response_excerpt": result.excerpt,
        "next_attempt_at": next_attempt_at,
        "delivered_at": now if status is DeliveryStatus.DELIVERED else None,
    }


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


async def _post(
    http: httpx.AsyncClient, target: egress.Target, secrets: list[str], event_id: str, body: bytes
) -> tuple[int, str, float | None]:
    now = datetime.now(UTC)
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": "Switchboard-Webhooks/1",
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": egress.signature(secrets, event_id, timestamp, body),
    }
    if target.host_header:
        headers["host"] = target.host_header
    extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else {}
    request = http.build_request(
        "POST", target.url, content=body, headers=headers, extensions=extensions
    )
    response = await http.send(request, stream=True, follow_redirects=False)
    try:
        excerpt = b""
        async for chunk in response.aiter_raw():
            excerpt += chunk
            if len(excerpt) >= EXCERPT_CHARS:
                break
    finally:
        await response.aclose()
    text = excerpt.decode("utf-8", "replace")[:EXCERPT_CHARS]
    return response.status_code, text, retry_after_s(response.headers.get("retry-after"), now)
