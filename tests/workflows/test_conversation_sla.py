"""The conversation's SLA clocks (`workflows.conversation.sla`) by hand, then in Temporal's
time-skipping test server: next-response and resolution breaches as timers and events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from switchboard import calendars
from switchboard.contract import (
    ADD_INTERACTION,
    Channel,
    Content,
    ConversationInput,
    ConversationPolicy,
    ConversationState,
    CustomerInteraction,
    Direction,
    Identity,
    IdentityKind,
    InteractionRef,
    Provider,
    Route,
    SlaPolicy,
    Status,
    conversation_workflow_id,
)
from switchboard.store import Store
from switchboard.store.tables import conversation_events
from tests.support.builders import sms_raw
from tests.support.time_skipping import STARTED
from workflows import ConversationWorkflow
from workflows.conversation import sla

NEW_YORK = ZoneInfo("America/New_York")
# New York business hours; 1 h to answer each message, 8 business hours to resolve.
POLICY = SlaPolicy(
    first_response_s=3600,
    next_response_s=3600,
    resolution_s=8 * 3600,
    timezone="America/New_York",
)


def ny(day: int, hour: int) -> datetime:
    return datetime(2027, 3, day, hour, tzinfo=NEW_YORK)


def test_the_resolution_clock_pauses_while_waiting_on_the_customer_over_a_dst_weekend() -> None:
    """Fri 12 March 2027 15:00 EST opens it; the agent replies at 16:00 (1 h used); the clocks
    go forward on Sunday; the customer writes on Monday at 10:00 EDT."""
    state = ConversationState(sla=POLICY)
    sla.opened(state, ny(12, 15))
    # 8 h: Fri 15-17 and Mon 9-15 (EDT, UTC-4).
    assert state.resolution_due_at == datetime(2027, 3, 15, 19, tzinfo=UTC)
    sla.agent_replied(state, ny(12, 16))
    assert (state.resolution_used_s, state.resolution_due_at) == (3600, None)
    assert state.awaiting_customer and state.next_response_due_at is None
    sla.customer_wrote(state, ny(15, 10))
    assert state.next_response_due_at == datetime(2027, 3, 15, 15, tzinfo=UTC)  # 11:00 EDT
    # 7 h left from 10:00: due at 17:00 EDT.
    assert state.resolution_due_at == datetime(2027, 3, 15, 21, tzinfo=UTC)
    sla.resolved(state, ny(15, 12))
    assert (state.resolution_used_s, state.next_response_due_at) == (3 * 3600, None)
    sla.customer_wrote(state, ny(15, 13))  # a message after the resolution (reopened)
    assert state.next_response_due_at == ny(15, 14)
    assert state.resolution_due_at == ny(16, 10)  # 5 h left: Mon 13-17, Tue 9-10


def test_an_agent_reopening_resumes_the_clock_with_no_next_response_due() -> None:
    state = ConversationState(sla=POLICY)
    sla.opened(state, ny(15, 9))
    sla.resolved(state, ny(15, 11))  # 2 h used
    sla.reopened_by_agent(state, ny(15, 13))
    assert state.next_response_due_at is None and not state.awaiting_customer
    assert state.resolution_due_at == ny(16, 11)  # 6 h left: Mon 13-17, Tue 9-11


def stored(store: Store, customer_id: str, now: datetime, direction: Direction) -> InteractionRef:
    """An interaction of the customer, stored with its route's SLA policy as the interaction
    workflow stores it (the conversation reads it from the store)."""
    raw = sms_raw(sender="+14155550123")
    route = Route("messaging", 2, calendars.due(now, POLICY.first_response_s, POLICY), sla=POLICY)
    interaction = CustomerInteraction(
        interaction_id=str(uuid.uuid4()),
        customer_id=customer_id,
        channel=Channel.SMS,
        direction=direction,
        provider=Provider.TWILIO,
        provider_message_id=raw.event_key,
        from_address="+14155550123",
        to_address="+14155550100",
        occurred_at=now,
        received_at=now,
        content=Content(text="hello"),
        status=Status.COMPLETED,
        route=route,
    )
    store.persist_interaction(interaction, raw)
    return InteractionRef(interaction.interaction_id, customer_id, Channel.SMS, direction, route)


def breaches(store: Store, conversation_id: str) -> list[tuple[str, datetime, str]]:
    """(target, when recorded, when due) of the conversation's `sla_breached` events."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(conversation_events.c.at, conversation_events.c.detail)
            .where(
                conversation_events.c.conversation_id == conversation_id,
                conversation_events.c.kind == "sla_breached",
            )
            .order_by(conversation_events.c.at, conversation_events.c.seq)
        )
        return [(row.detail["target"], row.at, row.detail["due_at"]) for row in rows]


async def test_next_response_and_resolution_breaches_are_timers_and_events(
    skipping: WorkflowEnvironment,
    skipping_worker: Worker,
    store: Store,
    task_queue: str,
) -> None:
    """Answered at once, then the customer waits 2 days for us: the next response is late
    (1 business hour after their message) and so is the resolution (8 business hours of
    waiting on the agent; the 2 days on the customer's side did not count)."""
    client: Client = skipping.client
    customer_id = store.resolve_customer(
        Identity(IdentityKind.EMAIL, f"{uuid.uuid4().hex[:8]}@sla.example")
    )
    handle = await client.start_workflow(
        ConversationWorkflow.run,
        # A long inactivity window: only the SLA timers fall due in this test.
        ConversationInput(customer_id, ConversationPolicy(auto_resolve_after_s=30 * 86400)),
        id=conversation_workflow_id(customer_id),
        task_queue=task_queue,
    )
    STARTED.append(handle)

    async def thread(direction: Direction) -> tuple[str, datetime, ConversationState]:
        now = await skipping.get_current_time()
        ref = stored(store, customer_id, now, direction)
        conversation_id = await handle.execute_update(ADD_INTERACTION, ref, result_type=str)
        return conversation_id, now, await handle.query(ConversationWorkflow.current)

    # The clocks start at the workflow's own time of each message, a few milliseconds after
    # the test read the server's clock: the due times below are computed from the former.
    conversation_id, opened, _ = await thread(Direction.INBOUND)
    await skipping.sleep(timedelta(minutes=1))
    _, answered, state = await thread(Direction.OUTBOUND)
    used = state.resolution_used_s
    assert abs(used - calendars.elapsed(opened, answered, POLICY)) < 1
    await skipping.sleep(timedelta(days=2))  # waiting on the customer: no clock runs
    state = await handle.query(ConversationWorkflow.current)
    assert state.resolution_due_at is None and breaches(store, conversation_id) == []

    _, _, state = await thread(Direction.INBOUND)
    wrote = state.resolution_clock_since
    assert wrote is not None
    next_due = calendars.due(wrote, 3600, POLICY)
    resolution_due = calendars.due(wrote, 8 * 3600 - used, POLICY)
    await skipping.sleep(resolution_due - wrote + timedelta(minutes=1))
    found = breaches(store, conversation_id)
    assert [(target, due) for target, _, due in found] == [
        ("next_response", next_due.isoformat()),
        ("resolution", resolution_due.isoformat()),
    ]
    assert all(
        timedelta() <= at - datetime.fromisoformat(due) < timedelta(seconds=5)
        for _, at, due in found
    )
    state = await handle.query(ConversationWorkflow.current)
    assert state.resolution_breached and not state.sla_breached  # the first response was met
    assert state.status == "open"
