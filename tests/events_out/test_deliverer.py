"""The deliverer alone (no Temporal): each subscription sends in slots of its own.

Real receivers on 127.0.0.1, a real store; events written as intake writes them.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from events_out.deliverer import Deliverer
from events_out.relay import EventRelay
from switchboard.store import Store
from switchboard.store.subscriptions import SubscriptionStore
from tests.support.builders import outbound_sms
from tests.support.receiver import receiver

EVENTS = 20  # more than a subscription's slots
SLOTS = 4
SLOW_S = 2.0


async def test_a_slow_receiver_never_holds_up_another_subscription(store: Store) -> None:
    subs = SubscriptionStore(store.engine)
    with receiver() as slow, receiver() as fast:
        slow.delay_s = SLOW_S
        slow_id = subs.create(slow.url, ["*"], None, False)["subscription_id"]
        fast_id = subs.create(fast.url, ["*"], None, False)["subscription_id"]
        for _ in range(EVENTS):
            store.persist_interaction(outbound_sms(store, "queued"), raw=None)
        async with httpx.AsyncClient(timeout=5.0) as http:
            deliverer = Deliverer(
                store, http, [1.0], 5.0, allow_private=True, slots_per_subscription=SLOTS
            )
            relay = EventRelay(subs, deliverer, interval_s=0.1)
            started = time.perf_counter()
            relaying = asyncio.ensure_future(relay.run())
            try:
                await fast.wait_for("interaction.persisted", count=EVENTS, timeout=SLOW_S)
                fast_done = time.perf_counter() - started
                # Meanwhile the slow receiver holds its few slots, not more.
                in_flight = len(deliverer.in_flight[slow_id])
            finally:
                relaying.cancel()
                await asyncio.gather(relaying, return_exceptions=True)
    assert fast_done < SLOW_S
    assert in_flight == SLOTS
    # Every delivery to the fast receiver is logged as delivered, once.
    fast_log = subs.deliveries(fast_id, limit=EVENTS + 1)
    assert [d["status"] for d in fast_log] == ["delivered"] * EVENTS
    assert {d["attempts"] for d in fast_log} == {1}


async def test_the_relay_stops_when_cancelled_as_an_attempt_finishes(store: Store) -> None:
    """Shutdown cancels the relay; an attempt finishing at that moment (its wake-up) must not
    swallow the cancellation, or the worker never stops (a `make test` run hung on it)."""
    async with httpx.AsyncClient() as http:
        deliverer = Deliverer(store, http, [1.0], 5.0, allow_private=True)
        relay = EventRelay(SubscriptionStore(store.engine), deliverer, interval_s=0.1)
        # Offsets across a whole polling cycle, so some land inside the wait for a wake-up.
        for offset_ms in range(0, 200, 10):
            relaying = asyncio.ensure_future(relay.run())
            await asyncio.sleep(offset_ms / 1000)
            deliverer.wake.set()
            relaying.cancel()
            done, _ = await asyncio.wait([relaying], timeout=2.0)
            assert done == {relaying}, "the relay kept running after it was cancelled"
            assert relaying.cancelled()
