"""attempt_delivery: the activity of the `DeliveryWorkflow`, kept for its running executions.

New deliveries are sent by the store-scheduled deliverer (`events_out.deliverer`); a workflow
started before it still calls this activity until its schedule runs out. Both make the same
attempt (`switchboard.delivery_attempt`) and write the same delivery log.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
from temporalio import activity

from switchboard import delivery_attempt
from switchboard.contract import ATTEMPT_DELIVERY, AttemptInput, AttemptOutcome, AttemptResult
from switchboard.store import Store
from switchboard.store.subscriptions import SubscriptionStore


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
            result = delivery_attempt.Attempt(
                AttemptOutcome.FAILED, sent=False, error="subscription disabled"
            )
        else:
            body = await asyncio.to_thread(
                delivery_attempt.event_body,
                self.store,
                delivery["body"],
                delivery["interaction_id"],
                delivery["include_content"],
            )
            result = await delivery_attempt.attempt(
                self.http,
                delivery["url"],
                delivery_attempt.secrets_of(delivery, datetime.now(UTC)),
                delivery["event_id"],
                body,
                self.allow_private,
            )
        if result.status_code == 410:
            # The receiver says it is gone for good: stop sending it anything.
            await asyncio.to_thread(
                self.subscriptions.disable,
                delivery["subscription_id"],
                "the receiver answered 410 Gone",
            )
        values = delivery_attempt.log_values(result, inp.next_delay_s, datetime.now(UTC))
        delivery_attempt.DeliveryCounter(activity.metric_meter()).attempt(result, values["status"])
        await asyncio.to_thread(
            self.subscriptions.record_attempt, inp.delivery_id, result.sent, **values
        )
        return AttemptResult(result.outcome, result.status_code, result.retry_after_s)
