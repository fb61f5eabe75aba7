"""Which messages the conversation hears: a signal for what changes its state or clocks, the
persist step's own threading for the rest (`store.conversation_threading`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from analytics import export
from analytics.privacy import Privacy
from switchboard import routing
from switchboard.contract import (
    REPLY,
    RESOLVE,
    ConversationState,
    InteractionInput,
    InteractionResult,
    ReplyInput,
    ResolveInput,
    Status,
    conversation_workflow_id,
    interaction_workflow_id,
)
from switchboard.store import ConversationStore, Store
from tests.support.builders import random_phone, sms_input
from tests.support.pipeline import threaded_conversation
from workflows import ConversationWorkflow, InteractionWorkflow


async def _sms(
    client: Client, task_queue: str, phone: str, text: str
) -> tuple[str, InteractionResult]:
    """An SMS through the real InteractionWorkflow: its event key and its result."""
    inp = sms_input(sender=phone, body=text)
    result: InteractionResult = await client.execute_workflow(
        InteractionWorkflow.run,
        InteractionInput(raw=inp.raw),
        id=interaction_workflow_id(inp.raw.provider, inp.raw.event_key),
        task_queue=task_queue,
    )
    return inp.raw.event_key, result


async def _signals(handle: WorkflowHandle) -> int:
    history = await handle.fetch_history()
    signalled = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    return sum(1 for event in history.events if event.event_type == signalled)


async def test_only_messages_that_change_the_conversation_signal_it(
    client: Client, store: Store, task_queue: str, replying: Worker, tmp_path: Path
) -> None:
    phone = random_phone()
    conversations = ConversationStore(store.engine)

    # New: no open conversation, so the workflow is signalled and opens one.
    key, opening = await _sms(client, task_queue, phone, "my parcel is late")
    first = opening.interaction_id
    conversation_id = await threaded_conversation(client, store, "twilio", key)
    handle = client.get_workflow_handle(conversation_workflow_id(opening.customer_id))
    assert await _signals(handle) == 1

    # Open and not waiting on the customer: threaded by the persist step, no signal. It is on
    # the conversation's timeline and among its interactions, completed, at once.
    second = (await _sms(client, task_queue, phone, "any news?"))[1].interaction_id
    threaded = store.get_interaction(second)
    assert threaded is not None and threaded.conversation_id == conversation_id
    assert threaded.status is Status.COMPLETED
    shown = conversations.get(conversation_id)
    assert shown is not None and shown["interaction_ids"] == [first, second]
    timeline = [e["detail"] for e in shown["events"] if e["kind"] == "interaction"]
    assert [detail["interaction_id"] for detail in timeline] == [first, second]
    assert await _signals(handle) == 1

    # The first customer message after an agent's reply starts the next-response clock:
    # signalled.
    replied: ConversationState = await handle.execute_update(
        REPLY, ReplyInput("It ships today.", actor="key:desk"), result_type=ConversationState
    )
    assert replied.awaiting_customer and replied.next_response_due_at is None
    key, result = await _sms(client, task_queue, phone, "thanks, when exactly?")
    third = result.interaction_id
    await threaded_conversation(client, store, "twilio", key)
    assert await _signals(handle) == 2
    state: ConversationState = await handle.query(ConversationWorkflow.current)
    assert not state.awaiting_customer and third in state.recent_interaction_ids
    assert state.next_response_due_at is not None
    # Then the conversation waits on the agent again: the next message is the store's.
    fourth = store.get_interaction(
        (await _sms(client, task_queue, phone, "hello?"))[1].interaction_id
    )
    assert fourth is not None and fourth.conversation_id == conversation_id
    assert await _signals(handle) == 2

    # Resolved: a message reopens it, so it is signalled.
    await handle.execute_update(RESOLVE, ResolveInput("answered", actor="key:desk"))
    key, result = await _sms(client, task_queue, phone, "it did not arrive")
    fifth = result.interaction_id
    assert await threaded_conversation(client, store, "twilio", key) == conversation_id
    assert await _signals(handle) == 3
    state = await handle.query(ConversationWorkflow.current)
    assert state.status == "open"
    shown = conversations.get(conversation_id)
    assert shown is not None and shown["interaction_ids"][-1] == fifth
    assert "reopened" in [e["kind"] for e in shown["events"]]

    # Its figures count every message, however it was threaded: five from the customer and
    # the agent's reply.
    rules = routing.load()
    root = tmp_path / "exports"
    staged = export.stage(store.engine, root, Privacy(b"k"), rules.hours, datetime.now(UTC))
    snapshot = export.publish(root, staged, [])
    con = duckdb.connect(str(snapshot / "marts.duckdb"), read_only=True)
    try:
        counted = con.execute(
            "SELECT interactions FROM conversation_costs WHERE conversation_id = ?",
            [conversation_id],
        ).fetchone()
    finally:
        con.close()
    assert counted == (6,)
