"""InteractionWorkflow on a real Temporal dev server with the real activities and store."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from switchboard import search_attributes as sa
from switchboard.contract import (
    MALFORMED_PAYLOAD,
    Identity,
    IdentityKind,
    InteractionInput,
    InteractionResult,
    Status,
    conversation_workflow_id,
    interaction_workflow_id,
)
from switchboard.store import Store
from switchboard.store.tables import raw_events
from tests.support.builders import random_phone, sms_input, sms_interaction
from tests.support.pipeline import threaded_conversation
from workflows import InteractionWorkflow


async def test_sms_is_normalized_routed_and_persisted(
    client: Client, worker: Worker, store: Store, task_queue: str
) -> None:
    inp = sms_input(sender="(415) 555-0142", body="My parcel is late")
    handle = await client.start_workflow(
        InteractionWorkflow.run, inp, id=f"wf-{uuid.uuid4()}", task_queue=task_queue
    )
    result: InteractionResult = await handle.result()
    assert result.created

    stored = store.get_interaction(result.interaction_id)
    assert stored is not None
    assert stored.customer_id == result.customer_id
    assert stored.from_address == "+14155550142"
    assert stored.content.text == "My parcel is late"
    assert stored.route.queue == "messaging"
    # Stored `processing`; the conversation's threading completes it (lifecycle test below).
    assert stored.status in ("processing", "completed")

    attrs = (await handle.describe()).typed_search_attributes
    assert attrs.get(sa.CUSTOMER_ID) == result.customer_id
    assert attrs.get(sa.ROUTE_QUEUE) == "messaging"
    assert attrs.get(sa.INTERACTION_STATUS) == "completed"


def _shape(history: WorkflowHistory) -> dict[str, int]:
    """Workflow tasks, markers by name and search-attribute upserts by attribute."""
    shape: dict[str, int] = {}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            names = ["workflow task"]
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            names = [event.marker_recorded_event_attributes.marker_name]
        elif event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            attributes = event.upsert_workflow_search_attributes_event_attributes
            keys = attributes.search_attributes.indexed_fields
            names = ["upsert", *(f"upsert {key}" for key in keys)]
        else:
            continue
        for name in names:
            shape[name] = shape.get(name, 0) + 1
    return shape


async def test_a_message_is_one_workflow_task_with_no_patch_and_its_conversation_one(
    client: Client, worker: Worker, store: Store, task_queue: str
) -> None:
    """What an engineer reads in Temporal UI, and what the server stores, for each message.

    Every patch check records a marker and upserts TemporalChangeVersion (a visibility write)
    once per run: the interaction, pinned to its release, checks none, the conversation one.
    """
    sender = f"+1415555{uuid.uuid4().int % 10_000:04d}"
    first_id = ""
    for body in ("hello", "anyone there?"):
        inp = sms_input(sender=sender, body=body)
        workflow_id = interaction_workflow_id(inp.raw.provider, inp.raw.event_key)
        first_id = first_id or workflow_id
        result = await client.execute_workflow(
            InteractionWorkflow.run, inp, id=workflow_id, task_queue=task_queue
        )
        await threaded_conversation(client, store, inp.raw.provider, inp.raw.event_key)

    opening = _shape(await client.get_workflow_handle(first_id).fetch_history())
    interaction = _shape(await client.get_workflow_handle(workflow_id).fetch_history())
    # normalize, dedupe, route, persist and the hand-off to the conversation, in one task
    assert opening["workflow task"] == 1
    assert opening["core_local_activity"] == 5
    # The second changes nothing its open conversation keeps: persist threads it, no hand-off.
    assert interaction["workflow task"] == 1
    assert interaction["core_local_activity"] == 4
    for shape in (opening, interaction):
        # Pinned to its release: no patch marker, no TemporalChangeVersion upsert.
        assert "core_patch" not in shape
        assert "upsert TemporalChangeVersion" not in shape
        # One visibility write of its own: everything it learnt, at its end.
        assert shape["upsert"] == 1
        assert shape["upsert CustomerId"] == shape["upsert RouteQueue"] == 1

    conversation_id = conversation_workflow_id(result.customer_id)
    conversation = _shape(await client.get_workflow_handle(conversation_id).fetch_history())
    assert conversation["core_patch"] == 1
    assert conversation["upsert TemporalChangeVersion"] == 1


async def test_second_workflow_for_the_same_message_adds_nothing(
    client: Client, worker: Worker, store: Store, task_queue: str
) -> None:
    """As after Temporal's retention: a new run for an old message finds the stored one."""
    inp = sms_input()
    first = await client.execute_workflow(
        InteractionWorkflow.run, inp, id=f"wf-{uuid.uuid4()}", task_queue=task_queue
    )
    second = await client.execute_workflow(
        InteractionWorkflow.run, inp, id=f"wf-{uuid.uuid4()}", task_queue=task_queue
    )
    assert first.created and not second.created
    assert second.interaction_id == first.interaction_id


async def test_a_run_that_finds_its_message_stored_but_unthreaded_still_hands_it_off(
    client: Client, worker: Worker, store: Store, task_queue: str
) -> None:
    """As after a first workflow task that timed out between persist and the hand-off: its
    retry persists again (the row is there) and must still thread the interaction."""
    sender = random_phone()
    customer_id = store.resolve_customer(Identity(IdentityKind.PHONE, sender))
    interaction, raw = sms_interaction(customer_id, sender, datetime.now(UTC))
    stored = store.persist_interaction(replace(interaction, status=Status.PROCESSING), raw)

    result = await client.execute_workflow(
        InteractionWorkflow.run,
        InteractionInput(raw=raw),
        id=interaction_workflow_id("twilio", raw.event_key),
        task_queue=task_queue,
    )
    assert result.interaction_id == stored.interaction_id and not result.created
    conversation_id = await threaded_conversation(client, store, "twilio", raw.event_key)
    threaded = store.get_interaction(stored.interaction_id)
    assert threaded is not None and threaded.status is Status.COMPLETED
    assert threaded.conversation_id == conversation_id


async def test_malformed_payload_fails_the_workflow_but_keeps_the_raw_event(
    client: Client, worker: Worker, store: Store, task_queue: str
) -> None:
    raw = sms_input().raw
    raw.fields = [(k, v) for k, v in raw.fields if k != "From"]
    handle = await client.start_workflow(
        InteractionWorkflow.run,
        InteractionInput(raw=raw),
        id=f"wf-{uuid.uuid4()}",
        task_queue=task_queue,
    )
    with pytest.raises(WorkflowFailureError) as info:
        await handle.result()
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == MALFORMED_PAYLOAD
    assert cause.message == "missing required field From"
    assert cause.non_retryable

    attrs = (await handle.describe()).typed_search_attributes
    assert attrs.get(sa.INTERACTION_STATUS) == "failed"
    with store.engine.connect() as conn:
        archived = conn.execute(select(raw_events)).mappings().all()
    assert [row["event_key"] for row in archived] == [raw.event_key]
    assert archived[0]["error"] == "missing required field From"


async def test_a_run_stuck_on_the_store_is_indexed_by_its_customer_while_it_waits(
    client: Client, worker: Worker, store: Store, task_queue: str
) -> None:
    """`CustomerId` is set once a store step after dedupe fails its first attempt, so erasure
    finds a run still retrying its store writes, not only finished ones (which set it with
    everything else at their end)."""
    phone = random_phone()
    customer_id = store.resolve_customer(Identity(IdentityKind.PHONE, phone))
    inp = sms_input(sender=phone)
    # Another writer holds SQLite's write lock: dedupe reads, persist waits and retries.
    lock = store.engine.raw_connection()
    lock.cursor().execute("BEGIN IMMEDIATE")
    try:
        handle = await client.start_workflow(
            InteractionWorkflow.run,
            inp,
            id=interaction_workflow_id("twilio", inp.raw.event_key),
            task_queue=task_queue,
        )
        for _ in range(300):
            attributes = (await handle.describe()).typed_search_attributes
            if attributes.get(sa.CUSTOMER_ID) is not None:
                break
            await asyncio.sleep(0.1)
        assert attributes.get(sa.CUSTOMER_ID) == customer_id
        assert store.find_interaction_key("twilio", inp.raw.event_key) is None  # still at work
    finally:
        lock.rollback()
        lock.close()
    assert (await handle.result()).customer_id == customer_id
