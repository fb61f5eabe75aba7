"""The events relay: turns events the store wrote into delivery workflows.

The store writes events in the transactions of the changes they describe (a transactional
outbox, `switchboard.store.outbound`); the relay, a task in each worker process, polls for
events not yet dispatched, creates a delivery per subscription that wants each, starts their
workflows and marks the events dispatched. A crash between the two leaves the events
undispatched, so the next poll starts them (deliveries and workflow ids are idempotent).
Intake never waits for any of it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from temporalio.client import Client

from switchboard.deliveries import start_deliveries
from switchboard.store.subscriptions import SubscriptionStore

log = logging.getLogger(__name__)


class EventRelay:
    def __init__(
        self,
        client: Client,
        subscriptions: SubscriptionStore,
        task_queue: str,
        retry_schedule_s: Sequence[float],
        interval_s: float = 0.25,
    ) -> None:
        self.client = client
        self.subscriptions = subscriptions
        self.task_queue = task_queue
        self.retry_schedule_s = list(retry_schedule_s)
        self.interval_s = interval_s

    async def run_once(self) -> int:
        """Dispatch what is pending; the number of deliveries started."""
        started = 0
        while True:
            events, ids = await asyncio.to_thread(self.subscriptions.prepare_dispatch)
            if not events:
                return started
            await start_deliveries(self.client, ids, self.task_queue, self.retry_schedule_s)
            await asyncio.to_thread(self.subscriptions.mark_dispatched, events)
            started += len(ids)

    async def run(self) -> None:
        """Poll until cancelled; a failure (store or Temporal away) is logged and retried."""
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("events relay: %s; retrying", type(exc).__name__)
                await asyncio.sleep(min(self.interval_s * 20, 5.0))
            await asyncio.sleep(self.interval_s)
