"""The conversation rows, events and outbox the conversation workflow writes, on each backend."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from switchboard.contract import (
    Channel,
    ConversationEvent,
    ConversationState,
    ConversationStatus,
    EventKind,
    Identity,
    IdentityKind,
    SendReplyInput,
)
from switchboard.store import ConversationStore, Store
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
