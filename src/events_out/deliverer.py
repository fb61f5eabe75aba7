"""The deliverer: sends due deliveries from the store, each subscription in slots of its own.

Every tick it records what finished since the last (one store transaction), then claims the
due deliveries of each subscription up to that subscription's free slots, and sends each as a
task of its own. A slow or dead receiver fills only its own slots, for at most the attempt
timeout each; other subscriptions keep theirs. Intake is not involved: no Temporal workflow,
activity or timer per delivery, and the retry schedule lives in the store (`schedule_step`,
`next_attempt_at`), so a restart picks up where it stood.

A receiver that fails every attempt is held back by its subscription's circuit breaker, kept
in the store beside the schedule (`switchboard.store.breaker`): after a run of failures nothing
is sent to it until a cool-down has passed, then one probe; its deliveries keep their retries
meanwhile. One that has failed for days is disabled. Attempts and deliveries given up are
counted in `switchboard_event_deliveries_total{outcome}`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from temporalio.common import MetricMeter

from switchboard import delivery_attempt
from switchboard.contract import AttemptOutcome
from switchboard.store import Store, breaker
from switchboard.store.delivery_queue import DeliveryQueue, Finished
from switchboard.store.subscriptions import SubscriptionStore

log = logging.getLogger(__name__)

# Attempts in flight at once to one subscription: its receiver's share, whatever it does.
SLOTS_PER_SUBSCRIPTION = 16
# A claim outlives the attempt by this much before another deliverer may take it over.
LEASE_MARGIN = timedelta(seconds=30)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Deliverer:
    """Built once per worker process with the store, the HTTP client deliveries share, the
    retry schedule (the waits between attempts), the attempt timeout, when a receiver is held
    back or disabled (`policy`), the meter its counter goes to and the clock it runs on."""

    def __init__(
        self,
        store: Store,
        http: httpx.AsyncClient,
        retry_schedule_s: Sequence[float],
        timeout_s: float,
        allow_private: bool = False,
        slots_per_subscription: int = SLOTS_PER_SUBSCRIPTION,
        policy: breaker.EndpointPolicy | None = None,
        meter: MetricMeter = MetricMeter.noop,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store = store
        self.queue = DeliveryQueue(store.engine)
        self.subscriptions = SubscriptionStore(store.engine)
        self.http = http
        self.schedule = list(retry_schedule_s)
        self.lease = timedelta(seconds=timeout_s) + LEASE_MARGIN
        self.allow_private = allow_private
        self.slots = slots_per_subscription
        self.policy = policy or breaker.EndpointPolicy()
        self.counter = delivery_attempt.DeliveryCounter(meter)
        self.clock = clock
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
        now = self.clock()
        lease_until = now + self.lease
        wanted: dict[str, int] = {}
        for subscription_id, sub in subs.items():
            in_flight = len(self.in_flight[subscription_id])
            if not sub["enabled"]:
                given_up = await asyncio.to_thread(
                    self.queue.fail_due, subscription_id, "subscription disabled", now
                )
                self.counter.abandoned(given_up)
            elif free := breaker.room(sub, in_flight, self.slots, self.policy):
                wanted[subscription_id] = free
            elif breaker.probe_due(sub, in_flight, now) and await asyncio.to_thread(
                breaker.take_probe, self.store.engine, subscription_id, now, lease_until
            ):
                wanted[subscription_id] = 1
        if not wanted:
            return 0
        claimed = await asyncio.to_thread(self.queue.claim, wanted, lease_until, now)
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
            disabled = await asyncio.to_thread(
                self.queue.finish, finished, self.clock(), self.policy
            )
        except BaseException:
            # Not written: keep them for the next flush (their leases still hold).
            self.finished[:0] = finished
            raise
        for subscription_id in disabled:
            log.warning("subscription %s disabled: its deliveries keep failing", subscription_id)

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Let the attempts in flight finish for a while and record them (on shutdown); those
        still waiting on their receiver are claimed again once their lease has run out."""
        tasks = [task for tasks in self.in_flight.values() for task in tasks]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
        await self.flush()

    async def _send(self, sub: dict[str, Any], row: dict[str, Any]) -> None:
        delivered: bool | None
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
                delivery_attempt.secrets_of(sub, self.clock()),
                row["event_id"],
                body,
                self.allow_private,
            )
            delivered = result.outcome is AttemptOutcome.DELIVERED
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
            delivered = None
        step = row["schedule_step"]  # attempts made in this round before this one
        next_delay = self.schedule[step] if step < len(self.schedule) else None
        values = delivery_attempt.log_values(result, next_delay, self.clock())
        self.counter.attempt(result, values["status"])
        self.finished.append(
            Finished(row["delivery_id"], result.sent, values, sub["subscription_id"], delivered)
        )
        self.wake.set()
