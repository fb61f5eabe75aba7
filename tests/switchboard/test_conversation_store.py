"""The conversation rows, events and outbox the conversation workflow writes, on each backend."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from switchboard.contract import (
    Channel,
    ConversationEvent,
    ConversationState,
    ConversationStatus,
    EventKind,
    Identity,
    IdentityKind,
    SendReplyInput,
    Status,
)
from switchboard.store import ConversationStore, Store
from switchboard.store.tables import conversations as conversations_table
from tests.support.builders import sms_interaction

OPENED = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def event(conversation_id: str, customer_id: str, kind: EventKind, seq: int) -> ConversationEvent:
    # Every event at the same instant: their order is their sequence number.
    return ConversationEvent(str(uuid.uuid4()), conversation_id, customer_id, kind, OPENED, seq)


def test_a_conversation_is_its_latest_state_its_events_once_and_its_threads(
    store: Store,
) -> None:
    conversations = ConversationStore(store.engine)
    number = "+14155550141"
    customer_id = store.resolve_customer(Identity(IdentityKind.PHONE, number))
    threads = []
    for minute in (0, 5):
        interaction, raw = sms_interaction(customer_id, number, OPENED + timedelta(minutes=minute))
        threads.append(store.persist_interaction(interaction, raw).interaction_id)
    conversation_id = str(uuid.uuid4())
    opened = ConversationState(
        conversation_id=conversation_id,
        status=ConversationStatus.OPEN,
        queue="messaging",
        priority=2,
        opened_at=OPENED,
    )
    kinds = [EventKind.OPENED, EventKind.INTERACTION, EventKind.INTERACTION, EventKind.RESOLVED]
    events = [event(conversation_id, customer_id, kind, seq) for seq, kind in enumerate(kinds)]

    conversations.record(customer_id, opened, events[:2], threads[:1])
    conversations.record(customer_id, opened, events[:2], threads[:1])  # a retried activity
    resolved = replace(
        opened,
        status=ConversationStatus.RESOLVED,
        resolved_at=OPENED + timedelta(hours=1),
        resolution_code="answered",
    )
    conversations.record(customer_id, resolved, events, threads)

    stored = conversations.get(conversation_id)
    assert stored is not None
    assert (stored["status"], stored["resolution_code"]) == ("resolved", "answered")
    assert stored["resolved_at"] == OPENED + timedelta(hours=1)
    assert [e["kind"] for e in stored["events"]] == kinds
    assert stored["interaction_ids"] == threads
    assert conversations.get(str(uuid.uuid4())) is None


def test_the_queue_view_filters_by_status_and_queue_oldest_first(store: Store) -> None:
    conversations = ConversationStore(store.engine)
    customer_id = store.resolve_customer(Identity(IdentityKind.PHONE, "+14155550142"))
    opened = []
    for hours, queue, status in [
        (2, "billing", ConversationStatus.OPEN),
        (0, "billing", ConversationStatus.OPEN),
        (1, "messaging", ConversationStatus.OPEN),
        (3, "billing", ConversationStatus.RESOLVED),
    ]:
        state = ConversationState(
            conversation_id=str(uuid.uuid4()),
            status=status,
            queue=queue,
            priority=2,
            opened_at=OPENED + timedelta(hours=hours),
        )
        conversations.record(customer_id, state, [], [])
        opened.append(state.conversation_id)

    def listed(status: str | None, queue: str | None, limit: int = 10) -> list[str]:
        return [row["conversation_id"] for row in conversations.list(status, queue, limit)]

    assert listed("open", "billing") == [opened[1], opened[0]]
    assert listed("open", None) == [opened[1], opened[2], opened[0]]
    assert listed(None, None, limit=2) == [opened[1], opened[2]]
    assert listed("resolved", "messaging") == []


def test_a_reply_is_claimed_once_and_its_retries_read_the_first_attempt(store: Store) -> None:
    conversations = ConversationStore(store.engine)
    reply = SendReplyInput(
        outbox_id=str(uuid.uuid4()),
        conversation_id=str(uuid.uuid4()),
        customer_id=str(uuid.uuid4()),
        channel=Channel.SMS,
        to_address="+14155550143",
        text="We are on it.",
    )
    first = conversations.claim_outbox(reply)
    assert (first["status"], first["body"], first["sent_at"]) == ("pending", "We are on it.", None)
    assert conversations.claim_outbox(replace(reply, text="changed")) == first

    conversations.mark_outbox(reply.outbox_id, "sent", provider_message_id="SM" + "0" * 32)
    sent = conversations.claim_outbox(reply)
    assert (sent["status"], sent["provider_message_id"]) == ("sent", "SM" + "0" * 32)
    assert sent["sent_at"] is not None and sent["sent_at"].tzinfo is not None
    assert sent["created_at"] == first["created_at"]


def test_persist_threads_a_message_only_into_an_open_conversation_waiting_on_an_agent(
    store: Store,
) -> None:
    conversations = ConversationStore(store.engine)
    number = "+14155550143"
    customer_id = store.resolve_customer(Identity(IdentityKind.PHONE, number))

    def message(minute: int) -> tuple[str, str | None]:
        interaction, raw = sms_interaction(customer_id, number, OPENED + timedelta(minutes=minute))
        persisted = store.persist_interaction(replace(interaction, status=Status.PROCESSING), raw)
        return persisted.interaction_id, persisted.threaded_into

    # No conversation yet: the workflow is signalled.
    first, threaded = message(0)
    assert threaded is None
    conversation_id = str(uuid.uuid4())
    state = ConversationState(
        conversation_id=conversation_id,
        status=ConversationStatus.OPEN,
        queue="messaging",
        opened_at=OPENED,
        last_activity_at=OPENED,
    )
    # Recorded by a workflow from before the rule (`awaiting_customer` unknown): signalled.
    conversations.record(customer_id, state, [], [first])
    with store.engine.begin() as conn:
        conn.execute(conversations_table.update().values(awaiting_customer=None))
    assert message(1)[1] is None
    # Waiting on an agent: threaded by persist, completed, on the timeline.
    conversations.record(customer_id, state, [], [first])
    second, threaded = message(2)
    assert threaded == conversation_id
    stored = conversations.get(conversation_id)
    assert stored is not None and second in stored["interaction_ids"]
    assert stored["events"][-1]["detail"]["interaction_id"] == second
    stored_second = store.get_interaction(second)
    assert stored_second is not None and stored_second.status is Status.COMPLETED
    # The workflow's own record keeps the later activity.
    conversations.record(customer_id, state, [], [])
    with store.engine.connect() as conn:
        last_activity = conn.execute(
            select(conversations_table.c.last_activity_at).where(
                conversations_table.c.conversation_id == conversation_id
            )
        ).scalar_one()
    assert last_activity > OPENED
    # Waiting on the customer (an agent replied): signalled, it starts a clock.
    conversations.record(customer_id, replace(state, awaiting_customer=True), [], [])
    assert message(3)[1] is None


def test_auto_resolve_and_persist_take_the_conversation_row_in_turn(store: Store) -> None:
    conversations = ConversationStore(store.engine)
    number = "+14155550144"
    customer_id = store.resolve_customer(Identity(IdentityKind.PHONE, number))
    conversation_id = str(uuid.uuid4())
    state = ConversationState(
        conversation_id=conversation_id,
        status=ConversationStatus.OPEN,
        queue="messaging",
        opened_at=OPENED,
        last_activity_at=OPENED,
    )
    conversations.record(customer_id, state, [], [])
    interaction, raw = sms_interaction(customer_id, number, OPENED + timedelta(hours=1))
    persisted = store.persist_interaction(replace(interaction, status=Status.PROCESSING), raw)
    assert persisted.threaded_into == conversation_id
    # The workflow knows only the opening: the store's newer activity keeps it open.
    newer = conversations.claim_inactive(conversation_id, OPENED)
    assert newer is not None and newer > OPENED
    assert (conversations.get(conversation_id) or {})["status"] == "open"
    # Nothing newer than what it knows: resolved in the store, and a message persisted from
    # then on is signalled (it reopens the conversation), never threaded into it here.
    assert conversations.claim_inactive(conversation_id, newer) is None
    assert (conversations.get(conversation_id) or {})["status"] == "resolved"
    interaction, raw = sms_interaction(customer_id, number, OPENED + timedelta(hours=2))
    later = store.persist_interaction(replace(interaction, status=Status.PROCESSING), raw)
    assert later.threaded_into is None
