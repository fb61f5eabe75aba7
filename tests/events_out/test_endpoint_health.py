"""A failing receiver, as the deliverer meets it: counted, held back by its circuit breaker,
disabled after days of failure with the other subscribers told.

Real receivers on 127.0.0.1, a real store, the real relay and deliverer on a clock of the
test's own (days pass without waiting), the API over ASGI, the worker's Prometheus exporter.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import standardwebhooks
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from events_out.deliverer import Deliverer
from events_out.relay import EventRelay
from ingress.events_out import EVENT_MODELS
from switchboard.contract import EventType
from switchboard.store import AuditLog, Store
from switchboard.store.breaker import EndpointPolicy
from switchboard.store.subscriptions import SubscriptionStore
from tests.support.app import app_client
from tests.support.builders import outbound_sms
from tests.support.processes import free_port
from tests.support.receiver import receiver
from tests.support.settings import ingress_settings

SCHEDULE = [1.0, 1.0, 1.0, 1.0]
FAILURES = 3  # the breaker opens after so many failed attempts in a row
COOLDOWN = timedelta(seconds=60)


class Clock:
    """The deliverer's clock: starts a moment ahead of the store's (deliveries are due at
    once) and moves only when the test moves it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


def relay_for(
    store: Store, http: httpx.AsyncClient, clock: Clock, policy: EndpointPolicy, **more: Any
) -> tuple[EventRelay, Deliverer]:
    deliverer = Deliverer(
        store, http, SCHEDULE, 5.0, allow_private=True, policy=policy, clock=clock, **more
    )
    return EventRelay(SubscriptionStore(store.engine), deliverer), deliverer


async def step(relay: EventRelay) -> None:
    """One round: dispatch new events, start what is due, wait for it and record it."""
    await relay.run_once()
    await relay.deliverer.drain()


def emit(store: Store, count: int) -> None:
    for _ in range(count):
        store.persist_interaction(outbound_sms(store, "queued"), raw=None)


async def test_a_fast_failing_receiver_gets_n_attempts_then_one_probe_at_a_time(
    store: Store, http: httpx.AsyncClient, task_queue: str, auth: dict[str, str]
) -> None:
    subs = SubscriptionStore(store.engine)
    clock = Clock()
    relay, _ = relay_for(store, http, clock, EndpointPolicy(FAILURES, COOLDOWN))
    with receiver() as hooks:
        hooks.down = 503
        sub_id = subs.create(hooks.url, ["interaction.persisted"], None, False)["subscription_id"]
        emit(store, 10)
        await step(relay)
        assert len(hooks.received) == FAILURES
        # Open: nothing more is sent, however often the deliverer looks, until the cool-down.
        for _ in range(3):
            clock.advance(seconds=15)
            await step(relay)
        assert len(hooks.received) == FAILURES
        async with app_client(ingress_settings(task_queue), store=store) as api:
            shown = (await api.get(f"/api/subscriptions/{sub_id}", headers=auth)).json()
            log = (await api.get(f"/api/subscriptions/{sub_id}/deliveries", headers=auth)).json()[
                "items"
            ]
        assert shown["breaker_state"] == "open" and shown["consecutive_failures"] == FAILURES
        held = {d["held_until"] for d in log if d["status"] == "pending"}
        assert held == {shown["breaker_until"]} and len(log) == 10
        # Its retries were not spent meanwhile: three attempts in all.
        assert sum(d["attempts"] for d in log) == FAILURES

        # After the cool-down, one probe; it fails, so the breaker opens again.
        clock.advance(seconds=20)
        await step(relay)
        await step(relay)
        assert len(hooks.received) == FAILURES + 1
        assert subs.get(sub_id)["breaker_state"] == "open"  # type: ignore[index]

        # The next probe succeeds: closed, and everything held back is delivered.
        hooks.down = None
        clock.advance(seconds=61)
        await step(relay)
        assert len(hooks.received) == FAILURES + 2
        assert subs.get(sub_id)["breaker_state"] == "closed"  # type: ignore[index]
        for _ in range(10):
            await step(relay)
    log = subs.deliveries(sub_id, limit=20)
    assert [d["status"] for d in log] == ["delivered"] * 10
    assert [r.answered for r in hooks.received].count(200) == 10


async def test_exhausted_deliveries_are_counted_for_prometheus(
    store: Store, http: httpx.AsyncClient
) -> None:
    port = free_port()
    runtime = Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}"))
    )
    subs = SubscriptionStore(store.engine)
    clock = Clock()
    relay, _ = relay_for(
        store, http, clock, EndpointPolicy(failures=100), meter=runtime.metric_meter
    )
    with receiver() as hooks, receiver() as healthy:
        hooks.down = 503
        subs.create(hooks.url, ["interaction.persisted"], None, False)
        subs.create(healthy.url, ["interaction.persisted"], None, False)
        emit(store, 2)
        for _ in range(len(SCHEDULE) + 1):
            await step(relay)
            clock.advance(seconds=1)
    counted = await scrape_counts(f"http://127.0.0.1:{port}/metrics", "exhausted", 2)
    assert counted == {
        "delivered": 2,
        "failed": 2 * (len(SCHEDULE) + 1),
        "exhausted": 2,
    }


async def scrape_counts(url: str, outcome: str, at_least: float) -> dict[str, float]:
    """`switchboard_event_deliveries_total` by outcome, once `outcome` reached `at_least` (the
    exporter publishes what was counted within a moment)."""
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            counts: dict[str, float] = {}
            for line in (await client.get(url)).text.splitlines():
                if line.startswith("switchboard_event_deliveries_total{"):
                    labels, value = line.rsplit(" ", 1)
                    found = labels.split('outcome="', 1)[1].split('"', 1)[0]
                    counts[found] = float(value)
            if counts.get(outcome, 0) >= at_least:
                return counts
            await asyncio.sleep(0.05)
    raise AssertionError(f"{outcome} never reached {at_least}: {counts}")


async def test_a_receiver_failing_for_days_is_disabled_and_the_others_are_told(
    store: Store, http: httpx.AsyncClient
) -> None:
    subs = SubscriptionStore(store.engine)
    clock = Clock()
    policy = EndpointPolicy(failures=100, disable_after=timedelta(days=5))
    relay, _ = relay_for(store, http, clock, policy)
    with receiver() as failing, receiver() as other:
        failing.down = 503
        failing_id = subs.create(failing.url, ["*"], None, False)["subscription_id"]
        other_sub = subs.create(other.url, ["subscription.disabled"], None, False)
        emit(store, 1)
        await step(relay)  # the first failure
        clock.advance(days=4)
        await step(relay)  # failing for four days: still enabled
        assert subs.get(failing_id)["enabled"] is True  # type: ignore[index]
        clock.advance(days=1, seconds=1)
        await step(relay)  # failing for five days: disabled
        disabled = subs.get(failing_id)
        assert disabled is not None and disabled["enabled"] is False
        assert disabled["disabled_reason"] == "every delivery failed for 5.0 days"
        await step(relay)  # the event goes out to the others
        [told] = await other.wait_for("subscription.disabled", timeout=2.0)
        attempts = len(failing.received)
        emit(store, 1)
        clock.advance(seconds=1)  # its delivery's next attempt is due
        await step(relay)
    body = standardwebhooks.Webhook(other_sub["secret"]).verify(told.body, told.headers)
    assert body["data"]["subscription_id"] == failing_id
    assert body["data"]["reason"] == "every delivery failed for 5.0 days"
    assert "url" not in body["data"]
    EVENT_MODELS[EventType.SUBSCRIPTION_DISABLED].model_validate(body)  # as documented
    # Nothing more is sent to the disabled one, nor made for it; its delivery is given up.
    assert len(failing.received) == attempts == 3
    [given_up] = subs.deliveries(failing_id)
    assert given_up["status"] == "failed" and given_up["last_error"] == "subscription disabled"
    [row] = AuditLog(store).list(actor="system")
    assert row["route"] == "subscription.disabled" and row["target"] == failing_id
