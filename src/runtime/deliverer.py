"""The deliverer: sends due deliveries from the store, each subscription in slots of its own.

Every tick it records what finished since the last (one store transaction), then claims the
due deliveries of each subscription up to that subscription's free slots, and sends each as a
task of its own. A slow or dead receiver fills only its own slots, for at most the attempt
timeout each; other subscriptions keep theirs. Intake is not involved: no Temporal workflow,
activity or timer per delivery, and the retry schedule lives in the store (`schedule_step`,
`next_attempt_at`), so a restart picks up where it stood.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from switchboard import delivery_attempt
from switchboard.contract import AttemptOutcome
from switchboard.store import Store
from switchboard.store.delivery_queue import DeliveryQueue, Finished
from switchboard.store.subscriptions import SubscriptionStore

log = logging.getLogger(__name__)

# Attempts in flight at once to one subscription: its receiver's share, whatever it does.
SLOTS_PER_SUBSCRIPTION = 16
# A claim outlives the attempt by this much before another deliverer may take it over.
LEASE_MARGIN = timedelta(seconds=30)


class Deliverer:
    """Built once per worker process with the store, the HTTP client deliveries share, the
    retry schedule (the waits between attempts) and the attempt timeout."""

    def __init__(
        self,
        store: Store,
        http: httpx.AsyncClient,
        retry_schedule_s: Sequence[float],
        timeout_s: float,
        allow_private: bool = False,
        slots_per_subscription: int = SLOTS_PER_SUBSCRIPTION,
    ) -> None:
        self.store = store
        self.queue = DeliveryQueue(store.engine)
        self.subscriptions = SubscriptionStore(store.engine)
        self.http = http
        self.schedule = list(retry_schedule_s)
        self.lease = timedelta(seconds=timeout_s) + LEASE_MARGIN
        self.allow_private = allow_private
        self.slots = slots_per_subscription
        self.in_flight: dict[str, set[asyncio.Task[None]]] = defaultdict(set)
        self.finished: list[Finished] = []
        # Set when an attempt finishes: its outcome waits to be recorded, its slot is free.
        self.wake = asyncio.Event()

    async def tick(self) -> int:
        """Record what finished, then start what is due; the number of attempts started."""
        await self.flush()
        subs = {
            s["subscription_id"]: s for s in await asyncio.to_thread(self.subscriptions.list_all)
        }
        wanted: dict[str, int] = {}
        for subscription_id, sub in subs.items():
            if not sub["enabled"]:
                await asyncio.to_thread(
                    self.queue.fail_due, subscription_id, "subscription disabled"
                )
                continue
            free = self.slots - len(self.in_flight[subscription_id])
            if free > 0:
                wanted[subscription_id] = free
        if not wanted:
            return 0
        lease_until = datetime.now(UTC) + self.lease
        claimed = await asyncio.to_thread(self.queue.claim, wanted, lease_until)
        for row in claimed:
            sub = subs[row["subscription_id"]]
            task = asyncio.create_task(self._send(sub, row))
            tasks = self.in_flight[sub["subscription_id"]]
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        return len(claimed)

    async def flush(self) -> None:
        """Write the outcomes gathered since the last flush."""
        finished, self.finished = self.finished, []
        try:
            await asyncio.to_thread(self.queue.finish, finished)
        except BaseException:
            # Not written: keep them for the next flush (their leases still hold).
            self.finished[:0] = finished
            raise

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Let the attempts in flight finish for a while and record them (on shutdown); those
        still waiting on their receiver are claimed again once their lease has run out."""
        tasks = [task for tasks in self.in_flight.values() for task in tasks]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
        await self.flush()

    async def _send(self, sub: dict[str, Any], row: dict[str, Any]) -> None:
        try:
            body = await asyncio.to_thread(
                delivery_attempt.event_body,
                self.store,
                row["body"],
                row["interaction_id"],
                sub["include_content"],
            )
            result = await delivery_attempt.attempt(
                self.http,
                sub["url"],
                delivery_attempt.secrets_of(sub, datetime.now(UTC)),
                row["event_id"],
                body,
                self.allow_private,
            )
            if result.status_code == 410:
                # The receiver says it is gone for good: stop sending it anything.
                await asyncio.to_thread(
                    self.subscriptions.disable,
                    sub["subscription_id"],
                    "the receiver answered 410 Gone",
                )
        except Exception as exc:
            # Not the receiver's doing (the store, a bug): try again on the schedule.
            log.warning("delivery attempt: %s", type(exc).__name__)
            result = delivery_attempt.Attempt(
                AttemptOutcome.RETRY, sent=False, error=type(exc).__name__
            )
        step = row["schedule_step"]  # attempts made in this round before this one
        next_delay = self.schedule[step] if step < len(self.schedule) else None
        values = delivery_attempt.log_values(result, next_delay, datetime.now(UTC))
        self.finished.append(Finished(row["delivery_id"], result.sent, values))
        self.wake.set()
