"""Events out in the store: written with the change they describe, once, and only when wanted."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from switchboard.store import Store
from switchboard.store.subscriptions import SubscriptionStore
from switchboard.store.tables import outbound_events
from tests.support.builders import outbound_sms


def events(store: Store) -> list[dict[str, object]]:
    with store.engine.connect() as conn:
        query = select(outbound_events).order_by(outbound_events.c.created_at)
        return [dict(row) for row in conn.execute(query).mappings()]


def test_nothing_is_written_without_subscriptions(store: Store) -> None:
    store.persist_interaction(outbound_sms(store, "queued"), raw=None)
    assert events(store) == []


def test_persisted_once_then_status_changes_forward_only(store: Store) -> None:
    SubscriptionStore(store.engine).create("https://crm.example.com/h", ["*"], None, False)
    sms = outbound_sms(store, "queued")
    store.persist_interaction(sms, raw=None)
    store.persist_interaction(sms, raw=None)  # a duplicate: no second event
    later = replace(sms, interaction_id=str(uuid.uuid4()), delivery_status="delivered")
    store.persist_interaction(later, raw=None)
    store.persist_interaction(later, raw=None)
    # Out of order: "sent" ranks below "delivered", the status stays, no event.
    store.persist_interaction(replace(later, delivery_status="sent"), raw=None)

    written = events(store)
    assert [e["type"] for e in written] == [
        "interaction.persisted",
        "interaction.status_changed",
    ]
    persisted, changed = (e["body"] for e in written)
    assert isinstance(persisted, dict) and isinstance(changed, dict)
    assert persisted["data"]["interaction_id"] == sms.interaction_id
    assert persisted["data"]["provider_message_id"] == sms.provider_message_id
    assert "content" not in persisted["data"]  # read at delivery, for those who asked
    assert changed["data"]["delivery_status"] == "delivered"
    assert changed["data"]["previous_delivery_status"] == "queued"


def test_dispatch_makes_one_delivery_per_wanting_subscription(store: Store) -> None:
    subs = SubscriptionStore(store.engine)
    everything = subs.create("https://a.example.com/h", ["*"], None, False)
    statuses = subs.create("https://b.example.com/h", ["interaction.status_changed"], None, False)
    off = subs.create("https://c.example.com/h", ["*"], None, False)
    subs.update(off["subscription_id"], enabled=False)
    store.persist_interaction(outbound_sms(store, "queued"), raw=None)

    event_ids, delivery_ids = subs.prepare_dispatch()
    assert len(event_ids) == 1 and len(delivery_ids) == 1
    # A relay that stopped before marking finds the same deliveries, none created twice.
    assert subs.prepare_dispatch() == (event_ids, delivery_ids)
    subs.mark_dispatched(event_ids)
    assert subs.prepare_dispatch() == ([], [])
    assert len(subs.deliveries(everything["subscription_id"])) == 1
    assert subs.deliveries(statuses["subscription_id"]) == []

    # Replay creates what a subscription never had, and nothing it has received.
    since = datetime.now(UTC) - timedelta(hours=1)
    assert len(subs.replay(off["subscription_id"], since)) == 1
    subs.record_attempt(delivery_ids[0], sent=True, status="delivered")
    assert subs.replay(everything["subscription_id"], since) == []


def test_rotation_keeps_the_old_secret_for_a_day(store: Store) -> None:
    subs = SubscriptionStore(store.engine)
    sub = subs.create("https://a.example.com/h", ["*"], None, False)
    rotated = subs.rotate(sub["subscription_id"])
    assert rotated is not None
    assert rotated["secret"] != sub["secret"] and rotated["secret"].startswith("whsec_")
    assert rotated["previous_secret"] == sub["secret"]
    left = rotated["previous_secret_expires_at"] - datetime.now(UTC)
    assert timedelta(hours=23) < left <= timedelta(hours=24)
    assert subs.delete(sub["subscription_id"]) and subs.get(sub["subscription_id"]) is None
