"""An interaction's stored status as the pipeline moves it, on each backend: processing until
its conversation threads it, then completed; failed when the store refused its values."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import StoreActivities
from switchboard.contract import (
    UNSTORABLE,
    ConversationState,
    ConversationStatus,
    Identity,
    IdentityKind,
    PersistInput,
    Status,
)
from switchboard.store import ConversationStore, Store
from switchboard.store.subscriptions import SubscriptionStore
from switchboard.store.tables import outbound_events
from tests.support.builders import sms_interaction

NUMBER = "+14155550177"
# A lone surrogate: valid in a Python string (a JSON body's "\ud800"), refused by every driver.
UNENCODABLE = "\ud800"


def processing_sms(store: Store) -> tuple[str, PersistInput]:
    customer_id = store.resolve_customer(Identity(IdentityKind.PHONE, NUMBER))
    interaction, raw = sms_interaction(customer_id, NUMBER, datetime.now(UTC), body="late?")
    return customer_id, PersistInput(replace(interaction, status=Status.PROCESSING), raw)


def test_processing_until_its_conversation_threads_it_then_completed_with_an_event(
    store: Store,
) -> None:
    SubscriptionStore(store.engine).create("https://crm.example.com/h", ["*"], None, False)
    customer_id, inp = processing_sms(store)
    interaction_id = store.persist_interaction(inp.interaction, inp.raw).interaction_id
    stored = store.get_interaction(interaction_id)
    assert stored is not None and stored.status is Status.PROCESSING

    conversation = ConversationState(
        conversation_id=str(uuid.uuid4()),
        status=ConversationStatus.OPEN,
        queue="messaging",
        opened_at=datetime.now(UTC),
    )
    conversations = ConversationStore(store.engine)
    conversations.record(customer_id, conversation, [], [interaction_id])
    conversations.record(customer_id, conversation, [], [interaction_id])  # a retried activity

    stored = store.get_interaction(interaction_id)
    assert stored is not None and stored.status is Status.COMPLETED
    assert stored.conversation_id == conversation.conversation_id
    with store.engine.connect() as conn:
        bodies = conn.execute(
            select(outbound_events.c.body).where(
                outbound_events.c.type == "interaction.status_changed"
            )
        ).scalars()
        changes = [body["data"] for body in bodies]
    assert [(c["previous_status"], c["status"]) for c in changes] == [("processing", "completed")]
    assert changes[0]["conversation_id"] == conversation.conversation_id


def test_values_the_store_refuses_fail_for_good_and_stay_as_a_failed_row(store: Store) -> None:
    _, good = processing_sms(store)
    poison = replace(good.interaction, to_address="+1415555" + UNENCODABLE)
    acts = StoreActivities(store)

    with pytest.raises(ApplicationError) as refused:
        ActivityEnvironment().run(acts.persist, PersistInput(poison, good.raw))
    assert refused.value.type == UNSTORABLE and refused.value.non_retryable
    assert UNENCODABLE not in refused.value.message
    assert store.find_interaction_key("twilio", poison.provider_message_id) is None

    store.record_failure(good.raw, refused.value.message, poison)
    store.record_failure(good.raw, refused.value.message, poison)  # a retried activity
    failed = store.get_interaction(poison.interaction_id)
    assert failed is not None and failed.status is Status.FAILED
    assert failed.to_address == "+1415555?"
    assert failed.content.text is None  # the archived raw event keeps the message
    archived = store.find_raw_event("twilio", good.raw.event_key)
    assert archived is not None and archived[1] == refused.value.message

    # Retried once the code takes it: the event's own values replace the stand-in, and it goes
    # on to its conversation as a new interaction.
    revived = store.persist_interaction(good.interaction, good.raw)
    assert revived.created and revived.interaction_id == poison.interaction_id
    stored = store.get_interaction(poison.interaction_id)
    assert stored is not None and stored.status is Status.PROCESSING
    assert stored.to_address == good.interaction.to_address
    assert stored.content.text == "late?"
