"""Events out in the store: written with the change they describe, once, and only when wanted."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from switchboard.blobs import BlobStore
from switchboard.contract import Identity, IdentityKind
from switchboard.store import AuditLog, Store
from switchboard.store.breaker import EndpointPolicy, take_probe
from switchboard.store.delivery_queue import DeliveryQueue, Finished
from switchboard.store.erasure import Erasure
from switchboard.store.subscriptions import SubscriptionStore
from switchboard.store.tables import deliveries, outbound_events
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

    assert subs.dispatch() == 1
    assert subs.dispatch() == 0  # dispatched: never a second delivery
    [delivery] = subs.deliveries(everything["subscription_id"])
    assert delivery["status"] == "pending" and delivery["next_attempt_at"] <= datetime.now(UTC)
    assert subs.deliveries(statuses["subscription_id"]) == []
    delivery_ids = [delivery["delivery_id"]]

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


def test_a_due_delivery_is_claimed_once_and_moves_along_its_schedule(store: Store) -> None:
    subs, queue = SubscriptionStore(store.engine), DeliveryQueue(store.engine)
    sub = subs.create("https://a.example.com/h", ["*"], None, False)["subscription_id"]
    store.persist_interaction(outbound_sms(store, "queued"), raw=None)
    subs.dispatch()
    lease = datetime.now(UTC) + timedelta(seconds=45)

    [claimed] = queue.claim({sub: 16}, lease)
    assert claimed["schedule_step"] == 0 and claimed["body"]["type"] == "interaction.persisted"
    # Leased: a second deliverer (another worker process) does not get it too.
    assert queue.claim({sub: 16}, lease) == []
    [logged] = subs.deliveries(sub)
    assert logged["next_attempt_at"] == lease

    retry_at = datetime.now(UTC) - timedelta(seconds=1)  # due again at once
    values = {"status": "pending", "last_status_code": 503, "next_attempt_at": retry_at}
    queue.finish([Finished(claimed["delivery_id"], True, values)])
    [again] = queue.claim({sub: 16}, lease)
    assert again["schedule_step"] == 1
    [logged] = subs.deliveries(sub)
    assert logged["attempts"] == 1 and logged["last_status_code"] == 503

    # A manual retry starts the schedule over; a disabled subscription's due ones fail.
    assert subs.reset(sub, claimed["delivery_id"])
    subs.update(sub, enabled=False)
    assert queue.fail_due(sub, "subscription disabled") == 1
    [logged] = subs.deliveries(sub)
    assert logged["status"] == "failed" and logged["schedule_step"] == 0


def test_a_breaker_opens_after_failures_in_a_row_and_one_deliverer_takes_its_probe(
    store: Store,
) -> None:
    subs, queue = SubscriptionStore(store.engine), DeliveryQueue(store.engine)
    sub = subs.create("https://a.example.com/h", ["*"], None, False)["subscription_id"]
    policy = EndpointPolicy(failures=2, cooldown=timedelta(seconds=60))
    now = datetime.now(UTC)
    failed, delivered = (Finished(str(uuid.uuid4()), True, {}, sub, ok) for ok in (False, True))

    queue.finish([failed], now, policy)
    assert health(subs, sub) == ("closed", 1, now, None)
    queue.finish([failed], now + timedelta(seconds=1), policy)
    assert health(subs, sub) == ("open", 2, now, now + timedelta(seconds=61))
    lease = now + timedelta(seconds=120)
    assert not take_probe(store.engine, sub, now + timedelta(seconds=30), lease)
    # After the cool-down one deliverer (of two worker processes) takes the probe.
    after = now + timedelta(seconds=62)
    assert take_probe(store.engine, sub, after, lease)
    assert not take_probe(store.engine, sub, after, lease)
    assert health(subs, sub)[0] == "half_open"
    queue.finish([delivered], after, policy)
    assert health(subs, sub) == ("closed", 0, None, None)


def test_days_of_failures_disable_a_subscription_with_an_event_and_an_audit_row(
    store: Store,
) -> None:
    subs, queue = SubscriptionStore(store.engine), DeliveryQueue(store.engine)
    sub = subs.create("https://a.example.com/h", ["*"], None, False)["subscription_id"]
    policy = EndpointPolicy(failures=100, disable_after=timedelta(days=5))
    failed = Finished(str(uuid.uuid4()), True, {}, sub, False)
    start = datetime.now(UTC)
    assert queue.finish([failed], start, policy) == []
    assert queue.finish([failed], start + timedelta(days=4), policy) == []
    assert queue.finish([failed], start + timedelta(days=5), policy) == [sub]
    # Once: a later failure of an attempt that was in flight disables nothing more.
    assert queue.finish([failed], start + timedelta(days=6), policy) == []
    disabled = subs.get(sub)
    assert disabled is not None and disabled["enabled"] is False
    [event] = [e for e in events(store) if e["type"] == "subscription.disabled"]
    assert event["body"]["data"]["subscription_id"] == sub
    [row] = AuditLog(store).list(actor="system")
    assert (row["route"], row["target"]) == ("subscription.disabled", sub)
    # Enabled again by an admin: its failures are forgiven, its breaker closed.
    subs.update(sub, enabled=True)
    assert health(subs, sub) == ("closed", 0, None, None)


def health(subs: SubscriptionStore, subscription_id: str) -> tuple[object, ...]:
    row = subs.get(subscription_id)
    assert row is not None
    keys = ("breaker_state", "consecutive_failures", "failing_since", "breaker_until")
    return tuple(row[key] for key in keys)


def test_erasure_removes_the_events_out_about_the_customer_and_their_deliveries(
    store: Store, tmp_path: Path
) -> None:
    subs = SubscriptionStore(store.engine)
    sub = subs.create("https://crm.example.com/h", ["*"], None, False)
    erased = outbound_sms(store, "queued")
    store.persist_interaction(erased, raw=None)
    other = replace(
        outbound_sms(store, "queued"),
        customer_id=store.resolve_customer(Identity(IdentityKind.PHONE, "+14155550199")),
    )
    store.persist_interaction(other, raw=None)
    subs.dispatch()
    for delivery in subs.deliveries(sub["subscription_id"]):
        subs.record_attempt(
            delivery["delivery_id"], sent=False, response_excerpt="we got +14155550142"
        )

    counts = Erasure(store.engine, b"k" * 32, BlobStore(tmp_path)).erase(erased.customer_id)

    assert counts is not None
    assert (counts.outbound_events, counts.deliveries) == (1, 1)
    assert [e["interaction_id"] for e in events(store)] == [other.interaction_id]
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(deliveries)).scalar_one() == 1
    assert len(subs.deliveries(sub["subscription_id"])) == 1
