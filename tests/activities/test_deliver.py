"""attempt_delivery alone: refusal at delivery time, Retry-After, the log it writes."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from activities.deliver import DeliveryActivities
from switchboard.contract import AttemptInput, AttemptOutcome
from switchboard.delivery_attempt import retry_after_s
from switchboard.store import Store
from switchboard.store.subscriptions import SubscriptionStore
from switchboard.store.tables import outbound_events
from tests.support.builders import outbound_sms
from tests.support.receiver import receiver


def one_delivery(store: Store, url: str) -> str:
    subs = SubscriptionStore(store.engine)
    sub = subs.create(url, ["*"], None, False)
    store.persist_interaction(outbound_sms(store, "queued"), raw=None)
    subs.dispatch()
    [delivery] = subs.deliveries(sub["subscription_id"])
    return str(delivery["delivery_id"])


async def test_an_inside_address_is_refused_at_delivery_time_too(store: Store) -> None:
    # Created while private addresses were allowed (or its name pointed outside then): the
    # delivery checks again, and sends nothing.
    with receiver() as hooks:
        delivery_id = one_delivery(store, hooks.url)
        async with httpx.AsyncClient() as http:
            activities = DeliveryActivities(store, http, allow_private=False)
            result = await ActivityEnvironment().run(
                activities.attempt_delivery, AttemptInput(delivery_id, 1, 5.0)
            )
        assert result.outcome is AttemptOutcome.FAILED
        assert hooks.received == []
    delivery = SubscriptionStore(store.engine).delivery(delivery_id)
    assert delivery is not None
    assert delivery["status"] == "failed" and delivery["attempts"] == 0
    assert "https" in delivery["last_error"]


async def test_a_retry_records_when_the_next_attempt_is(store: Store) -> None:
    with receiver() as hooks:
        hooks.answers = [429]
        hooks.headers = {"Retry-After": "120"}
        delivery_id = one_delivery(store, hooks.url)
        async with httpx.AsyncClient() as http:
            activities = DeliveryActivities(store, http, allow_private=True)
            result = await ActivityEnvironment().run(
                activities.attempt_delivery, AttemptInput(delivery_id, 1, 5.0)
            )
        [request] = hooks.received
    assert result.outcome is AttemptOutcome.RETRY and result.retry_after_s == 120
    delivery = SubscriptionStore(store.engine).delivery(delivery_id)
    assert delivery is not None
    assert delivery["status"] == "pending" and delivery["last_status_code"] == 429
    wait = (delivery["next_attempt_at"] - datetime.now(UTC)).total_seconds()
    assert 100 < wait <= 120
    with store.engine.connect() as conn:
        event_id = conn.execute(select(outbound_events.c.event_id)).scalar()
    assert request.headers["webhook-id"] == event_id


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert retry_after_s("30", now) == 30
    assert retry_after_s("Tue, 01 Dec 2026 12:01:00 GMT", now) == 60
    assert retry_after_s("soon", now) is None
    assert retry_after_s(None, now) is None
