"""Refused deliveries as data: every webhook request answered with an error is counted per
minute, provider, endpoint and reason, in memory, and added to the store every few seconds
(and at shutdown), so counting costs a refused request nothing but a dictionary update.

Counts only: never a body, a header or an address.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import UTC, datetime

from fastapi.concurrency import run_in_threadpool
from prometheus_client import Counter as PrometheusCounter
from sqlalchemy import Engine
from starlette.requests import Request

from switchboard.contract import Provider, RefusalReason
from switchboard.store.refusals import RefusalKey, add_refusals

log = logging.getLogger(__name__)

WEBHOOKS = "/webhooks/"
# The reason an error answer stands for, unless the route named a finer one (`hint`).
BY_STATUS = {
    400: RefusalReason.MALFORMED,
    401: RefusalReason.AUTH,
    403: RefusalReason.SIGNATURE,
    408: RefusalReason.TIMEOUT,
    413: RefusalReason.TOO_LARGE,
    415: RefusalReason.MALFORMED,
    422: RefusalReason.MALFORMED,
    503: RefusalReason.UNAVAILABLE,
}
_PROVIDERS = {p.value for p in Provider}

REFUSED = PrometheusCounter(
    "switchboard_refused_deliveries_total",
    "Webhook deliveries answered with an error, by provider, endpoint and reason.",
    ["provider", "endpoint", "reason"],
)


def hint(request: Request, reason: RefusalReason) -> None:
    """Name why the request is about to be refused, where its status alone does not say
    (a stale signature and a forged one are both 403)."""
    request.state.refusal_reason = reason


def reason_for(request: Request, status: int) -> RefusalReason:
    hinted: RefusalReason | None = getattr(request.state, "refusal_reason", None)
    return hinted or BY_STATUS.get(status, RefusalReason.OTHER)


def of(request: Request) -> Refusals:
    refusals: Refusals = request.app.state.refusals
    return refusals


def provider_of(endpoint: str) -> str | None:
    """The provider a webhook path belongs to (`/webhooks/twilio/sms` → twilio)."""
    if not endpoint.startswith(WEBHOOKS):
        return None
    provider = endpoint[len(WEBHOOKS) :].split("/", 1)[0]
    return provider if provider in _PROVIDERS else None


class Refusals:
    """The ingress's refused deliveries not yet in the store."""

    def __init__(self, endpoints: set[str]) -> None:
        self.endpoints = frozenset(endpoints)  # the webhook paths: any other is not a delivery
        self._pending: Counter[RefusalKey] = Counter()

    def record(self, endpoint: str, reason: RefusalReason, at: datetime | None = None) -> None:
        """Count one refused delivery to `endpoint` (a webhook path; anything else is not a
        delivery and is ignored)."""
        provider = provider_of(endpoint)
        if provider is None or endpoint not in self.endpoints:
            return
        minute = (at or datetime.now(UTC)).replace(second=0, microsecond=0)
        self._pending[(minute, provider, endpoint, str(reason))] += 1
        REFUSED.labels(provider, endpoint, str(reason)).inc()

    def flush(self, engine: Engine) -> None:
        """Add the pending counts to the store; kept for the next flush if it cannot take them."""
        counts, self._pending = self._pending, Counter()
        try:
            add_refusals(engine, counts, datetime.now(UTC))
        except Exception as exc:  # a locked or unreachable store: counted again next time
            self._pending.update(counts)
            log.warning("refused deliveries not stored yet: %s", type(exc).__name__)

    async def run(self, engine: Engine, interval_s: float) -> None:
        """Flush every `interval_s` until cancelled (then the lifespan flushes once more)."""
        while True:
            await asyncio.sleep(interval_s)
            if self._pending:
                await run_in_threadpool(self.flush, engine)
