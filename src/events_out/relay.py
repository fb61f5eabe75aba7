"""The events relay: turns events the store wrote into deliveries, and has them sent.

The store writes events in the transactions of the changes they describe (a transactional
outbox, `switchboard.store.outbound`); the relay, a task in each worker process, polls for
events not yet dispatched and creates, in one transaction, a delivery per subscription that
wants each (due at once) while marking the events dispatched. Its deliverer
(`events_out.deliverer`) sends what is due. Intake never waits for any of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from events_out.deliverer import Deliverer
from switchboard.store.subscriptions import SubscriptionStore

log = logging.getLogger(__name__)

# However often attempts finish, the store is asked at most this often (outcomes are recorded
# together, so a busy moment costs fewer write transactions, not more).
MIN_TICK_S = 0.05


class EventRelay:
    def __init__(
        self,
        subscriptions: SubscriptionStore,
        deliverer: Deliverer,
        interval_s: float = 0.25,
    ) -> None:
        self.subscriptions = subscriptions
        self.deliverer = deliverer
        self.interval_s = interval_s

    async def run_once(self) -> int:
        """Dispatch what is pending and start what is due; the number of attempts started."""
        while await asyncio.to_thread(self.subscriptions.dispatch):
            pass
        return await self.deliverer.tick()

    async def run(self) -> None:
        """Poll until cancelled; a failure (the store away) is logged and retried. On
        cancellation the attempts in flight finish and are recorded."""
        try:
            while True:
                self.deliverer.wake.clear()
                try:
                    await self.run_once()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("events relay: %s; retrying", type(exc).__name__)
                    await asyncio.sleep(min(self.interval_s * 20, 5.0))
                await asyncio.sleep(MIN_TICK_S)
                # Woken early when an attempt finishes: its slot is free and its outcome due.
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a
                # cancellation that arrives as the wake-up does, and the relay never stopped.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.interval_s):
                        await self.deliverer.wake.wait()
        finally:
            await self.deliverer.drain()
