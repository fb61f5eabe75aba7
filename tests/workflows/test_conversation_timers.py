"""ConversationWorkflow's durable timers, in Temporal's time-skipping test server."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from analytics import metrics, resolution
from analytics.export.schemas import CONVERSATIONS_SCHEMA
from runtime.worker import build_worker
from switchboard import calendars
from switchboard.contract import (
    ADD_INTERACTION,
    ASSIGN,
    CSAT,
    RESOLVE,
    THREAD,
    TRANSFER,
    AssignInput,
    Channel,
    Content,
    ConversationInput,
    ConversationPolicy,
    ConversationState,
    CsatInput,
    CustomerInteraction,
    Direction,
    Identity,
    IdentityKind,
    InteractionRef,
    Provider,
    ResolveInput,
    Route,
    SlaPolicy,
    Status,
    TransferInput,
    conversation_workflow_id,
)
from switchboard.store import Store
from switchboard.store.conversation_threading import thread_in_store
from switchboard.store.engine import write_transaction
from switchboard.store.tables import conversation_events
from tests.support.builders import sms_raw
from tests.support.settings import timeless_rules
from tests.support.time_skipping import POLICY, STARTED
from workflows import ConversationWorkflow


def inbound(
    store: Store,
    customer_id: str,
    now: datetime,
    first_response: timedelta,
    direction: Direction = Direction.INBOUND,
) -> InteractionRef:
    """An inbound SMS of the customer (or an outbound one to them), stored as the interaction
    workflow would have: the conversation takes the facts from the store, not from the ref it
    is given."""
    ref = InteractionRef(
        interaction_id=str(uuid.uuid4()),
        customer_id=customer_id,
        channel=Channel.SMS,
        direction=direction,
        route=Route(queue="messaging", priority=2, sla_due_at=now + first_response),
    )
    raw = sms_raw(sender="+14155550123")
    store.persist_interaction(
        CustomerInteraction(
            interaction_id=ref.interaction_id,
            customer_id=customer_id,
            channel=ref.channel,
            direction=ref.direction,
            provider=Provider.TWILIO,
            provider_message_id=raw.event_key,
            from_address="+14155550123",
            to_address="+14155550100",
            occurred_at=now,
            received_at=now,
            content=Content(text="hello"),
            status=Status.COMPLETED,
            route=ref.route,
        ),
        raw,
    )
    return ref


async def start(client: Client, store: Store, task_queue: str) -> tuple[str, WorkflowHandle]:
    customer_id = store.resolve_customer(
        Identity(
            IdentityKind.PHONE,
            "+1415555" + uuid.uuid4().hex[:4].translate(str.maketrans("abcdef", "123456")),
        )
    )
    handle = await client.start_workflow(
        ConversationWorkflow.run,
        ConversationInput(customer_id, POLICY),
        id=conversation_workflow_id(customer_id),
        task_queue=task_queue,
    )
    STARTED.append(handle)
    return customer_id, handle


def kinds(store: Store, conversation_id: str) -> list[str]:
    with store.engine.connect() as conn:
        return list(
            conn.execute(
                select(conversation_events.c.kind)
                .where(conversation_events.c.conversation_id == conversation_id)
                .order_by(conversation_events.c.at, conversation_events.c.seq)
            ).scalars()
        )


async def test_unanswered_message_breaches_the_sla_escalates_and_auto_resolves(
    skipping: WorkflowEnvironment, skipping_worker: Worker, store: Store, task_queue: str
) -> None:
    client = skipping.client
    customer_id, handle = await start(client, store, task_queue)
    now = await skipping.get_current_time()
    conversation_id = await handle.execute_update(
        ADD_INTERACTION, inbound(store, customer_id, now, timedelta(minutes=15)), result_type=str
    )
    await skipping.sleep(timedelta(minutes=16))
    state: ConversationState = await handle.query(ConversationWorkflow.current)
    assert state.sla_breached and state.queue == "escalations"
    assert kinds(store, conversation_id) == ["opened", "interaction", "sla_breached", "escalated"]

    await skipping.sleep(timedelta(hours=2))
    state = await handle.query(ConversationWorkflow.current)
    assert state.status == "resolved" and state.resolution_code == "auto_resolved"
    assert "auto_resolved" in kinds(store, conversation_id)
    row = (
        store.engine.connect()
        .execute(
            select(conversation_events.c.at).where(
                conversation_events.c.conversation_id == conversation_id,
                conversation_events.c.kind == "auto_resolved",
            )
        )
        .scalar_one()
    )
    assert row - now >= timedelta(hours=2)


async def test_each_message_pushes_auto_resolve_later_without_restarting_the_timer(
    skipping: WorkflowEnvironment, skipping_worker: Worker, store: Store, task_queue: str
) -> None:
    client = skipping.client
    customer_id, handle = await start(client, store, task_queue)
    now = await skipping.get_current_time()
    # A long first-response target: the inactivity deadline (2 h) is what the timer waits for.
    conversation_id = await handle.execute_update(
        ADD_INTERACTION, inbound(store, customer_id, now, timedelta(hours=48)), result_type=str
    )
    for _ in range(3):
        await skipping.sleep(timedelta(minutes=90))
        now = await skipping.get_current_time()
        await handle.execute_update(
            ADD_INTERACTION, inbound(store, customer_id, now, timedelta(hours=48)), result_type=str
        )
    # 6 h 29 min after the first message, 1 h 59 min of quiet since the last: still open.
    await skipping.sleep(timedelta(minutes=119))
    state: ConversationState = await handle.query(ConversationWorkflow.current)
    assert state.status == "open" and state.interaction_count == 4
    await skipping.sleep(timedelta(minutes=2))
    state = await handle.query(ConversationWorkflow.current)
    assert state.status == "resolved" and state.resolution_code == "auto_resolved"
    assert kinds(store, conversation_id)[-1] == "auto_resolved"
    # The first timer ran to its deadline (2 h), fired early and was replaced: no message
    # cancelled it.
    history = await handle.fetch_history()
    assert not [e for e in history.events if e.HasField("timer_canceled_event_attributes")]


async def test_customer_message_reopens_within_the_window_and_opens_anew_after(
    skipping: WorkflowEnvironment, skipping_worker: Worker, store: Store, task_queue: str
) -> None:
    client = skipping.client
    customer_id, handle = await start(client, store, task_queue)
    now = await skipping.get_current_time()
    first = await handle.execute_update(
        ADD_INTERACTION, inbound(store, customer_id, now, timedelta(hours=1)), result_type=str
    )
    await handle.execute_update(RESOLVE, ResolveInput("answered"), result_type=ConversationState)
    await skipping.sleep(timedelta(minutes=30))
    now = await skipping.get_current_time()
    reopened = await handle.execute_update(
        ADD_INTERACTION, inbound(store, customer_id, now, timedelta(hours=1)), result_type=str
    )
    assert reopened == first
    assert kinds(store, first).count("reopened") == 1
    await handle.execute_update(RESOLVE, ResolveInput("answered"), result_type=ConversationState)
    await skipping.sleep(timedelta(hours=2))
    now = await skipping.get_current_time()
    later = await handle.execute_update(
        ADD_INTERACTION, inbound(store, customer_id, now, timedelta(hours=1)), result_type=str
    )
    assert later != first
    assert kinds(store, later)[0] == "opened"


async def test_time_in_queue_and_handle_time_of_transfers_and_waits_as_computed_by_hand(
    skipping: WorkflowEnvironment, skipping_worker: Worker, store: Store, task_queue: str
) -> None:
    """By hand: the message at 0; ana assigned at 10 min (10 in the queue); transferred to
    billing, unassigned, at 15 (ana handled 5); to bo at 35 (20 more in the queue: 30); bo
    replies at 50 (handled 15), the customer answers at 110 (60 waiting on them, not counted),
    bo resolves at 120 (10 more: handle time 30 min); then a CSAT of 4."""
    client = skipping.client
    customer_id, handle = await start(client, store, task_queue)
    billing = SlaPolicy(first_response_s=7200, resolution_s=86400)

    async def after(minutes: int) -> datetime:
        await skipping.sleep(timedelta(minutes=minutes))
        return await skipping.get_current_time()

    async def act(update: str, arg: object) -> ConversationState:
        state: ConversationState = await handle.execute_update(
            update, arg, result_type=ConversationState
        )
        return state

    now = await skipping.get_current_time()
    conversation_id = await handle.execute_update(
        ADD_INTERACTION, inbound(store, customer_id, now, timedelta(hours=48)), result_type=str
    )
    await after(10)
    await act(ASSIGN, AssignInput("ana", actor="key:ana"))
    moved_at = await after(5)
    moved = await act(TRANSFER, TransferInput(queue="billing", sla=billing, actor="key:ana"))
    assert (moved.queue, moved.assignee, moved.sla) == ("billing", None, billing)
    # The billing queue's target from the transfer on, within the test server's clock drift.
    assert moved.first_response_due_at is not None
    drift = moved.first_response_due_at - calendars.due(moved_at, 7200, billing)
    assert timedelta(0) <= drift < timedelta(seconds=10)
    await after(20)
    await act(TRANSFER, TransferInput(agent="bo", actor="key:ana"))
    now = await after(15)
    reply = inbound(store, customer_id, now, timedelta(hours=48), Direction.OUTBOUND)
    await handle.execute_update(ADD_INTERACTION, reply, result_type=str)
    now = await after(60)
    await handle.execute_update(
        ADD_INTERACTION, inbound(store, customer_id, now, timedelta(hours=48)), result_type=str
    )
    await after(10)
    await act(RESOLVE, ResolveInput("answered", actor="key:bo", disposition="refund_issued"))
    rated = await act(CSAT, CsatInput(4, actor="key:survey"))
    assert rated.csat_score == 4 and rated.disposition == "refund_issued"

    events, contacts = resolution.load(store.engine, [conversation_id])
    (outcome,) = resolution.per_conversation(events, contacts, timeless_rules().hours, now)
    assert outcome.transfers == 2 and outcome.agent == "key:bo"
    assert outcome.time_in_queue is not None and outcome.handle_time is not None
    # Each step adds the few milliseconds the test server's clock runs between sleeps.
    assert timedelta(0) <= outcome.time_in_queue - timedelta(minutes=30) < timedelta(seconds=10)
    assert timedelta(0) <= outcome.handle_time - timedelta(minutes=30) < timedelta(seconds=10)
    # The export's row and the mart's figure (what `metrics --json` prints) are the same.
    table = resolution.conversations_table(
        store.engine, timeless_rules().hours, now, CONVERSATIONS_SCHEMA, only=[conversation_id]
    )
    (row,) = table.to_pylist()
    assert row["handle_time_s"] == outcome.handle_time.total_seconds()
    assert row["time_in_queue_s"] == outcome.time_in_queue.total_seconds()
    overall = metrics.overall(table)
    assert overall["handle_time_mean_s"] == row["handle_time_s"]
    assert overall["time_in_queue_mean_s"] == row["time_in_queue_s"]
    assert (overall["csat_mean"], overall["transfers"]) == (4, 2)


async def test_history_continues_as_new_and_carries_the_conversation(
    client: Client, store: Store, task_queue: str
) -> None:
    """On the real dev server: a small history limit forces several continue-as-new runs."""
    policy = ConversationPolicy(max_history_events=60)
    with ThreadPoolExecutor(8) as executor:
        async with build_worker(
            client, store, task_queue, executor, 8, policy, rules=timeless_rules()
        ):
            customer_id = store.resolve_customer(Identity(IdentityKind.PHONE, "+14155550777"))
            handle = await client.start_workflow(
                ConversationWorkflow.run,
                ConversationInput(customer_id, policy),
                id=f"conversation:{customer_id}",
                task_queue=task_queue,
            )
            now = datetime.now(UTC)
            ids = {
                await handle.execute_update(
                    ADD_INTERACTION,
                    inbound(store, customer_id, now, timedelta(hours=1)),
                    result_type=str,
                )
                for _ in range(25)
            }
            runs = [wf async for wf in client.list_workflows(f"WorkflowId = '{handle.id}'")]
            state: ConversationState = await handle.query(ConversationWorkflow.current)
    assert len(ids) == 1  # one conversation throughout
    assert len(runs) > 1
    assert state.interaction_count == 25
    assert (await handle.describe()).history_length <= 60 + 15


async def test_signalled_interactions_are_threaded_once_each_across_continue_as_new(
    client: Client, store: Store, task_queue: str
) -> None:
    """On the real dev server: 40 interactions signalled at once, each twice (a retried
    hand-off), into a conversation whose small history limit forces continue-as-new runs.
    None is lost at a run's end, none is threaded twice."""
    policy = ConversationPolicy(max_history_events=60)
    customer_id = store.resolve_customer(Identity(IdentityKind.PHONE, "+14155550778"))
    refs = [inbound(store, customer_id, datetime.now(UTC), timedelta(hours=1)) for _ in range(40)]

    async def signal(ref: InteractionRef) -> None:
        await client.start_workflow(
            ConversationWorkflow.run,
            ConversationInput(customer_id, policy),
            id=conversation_workflow_id(customer_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal=THREAD,
            start_signal_args=[ref],
        )

    with ThreadPoolExecutor(8) as executor:
        async with build_worker(
            client, store, task_queue, executor, 8, policy, rules=timeless_rules()
        ):
            await asyncio.gather(*(signal(ref) for ref in refs + refs))
            handle = client.get_workflow_handle_for(
                ConversationWorkflow.run, conversation_workflow_id(customer_id)
            )
            for _ in range(300):
                threaded = threaded_ids(store, customer_id)
                if len(threaded) >= len(refs):
                    break
                await asyncio.sleep(0.1)
            state: ConversationState = await handle.query(ConversationWorkflow.current)
            for _ in range(100):  # visibility lags behind the runs a moment
                runs = [wf async for wf in client.list_workflows(f"WorkflowId = '{handle.id}'")]
                if len(runs) > 1:
                    break
                await asyncio.sleep(0.1)
    assert sorted(threaded) == sorted(ref.interaction_id for ref in refs)
    assert state.interaction_count == len(refs)
    assert len(runs) > 1


def threaded_ids(store: Store, customer_id: str) -> list[str]:
    """The interaction ids of a customer's `interaction` events, one per threading."""
    with store.engine.connect() as conn:
        details = conn.execute(
            select(conversation_events.c.detail).where(
                conversation_events.c.customer_id == customer_id,
                conversation_events.c.kind == "interaction",
            )
        ).scalars()
        return [detail["interaction_id"] for detail in details]


async def test_timers_fire_for_a_worker_started_after_they_were_due(
    client: Client, store: Store, task_queue: str
) -> None:
    """On the real dev server: the SLA timer lives in Temporal, not in the worker. No worker
    runs while it falls due; a new one acts on it."""
    with ThreadPoolExecutor(8) as executor:
        async with build_worker(
            client, store, task_queue, executor, 8, POLICY, rules=timeless_rules()
        ):
            customer_id, handle = await start(client, store, task_queue)
            conversation_id = await handle.execute_update(
                ADD_INTERACTION,
                inbound(store, customer_id, datetime.now(UTC), timedelta(seconds=2)),
                result_type=str,
            )
    await asyncio.sleep(3)  # the worker is gone; the first response falls due meanwhile
    assert "sla_breached" not in kinds(store, conversation_id)
    with ThreadPoolExecutor(8) as executor:
        async with build_worker(
            client, store, task_queue, executor, 8, POLICY, rules=timeless_rules()
        ):
            for _ in range(300):  # the new worker picks up the fired timer
                if "escalated" in kinds(store, conversation_id):
                    break
                await asyncio.sleep(0.1)
    assert kinds(store, conversation_id)[-2:] == ["sla_breached", "escalated"]


async def test_auto_resolve_waits_for_a_message_threaded_by_its_persist_step(
    skipping: WorkflowEnvironment, skipping_worker: Worker, store: Store, task_queue: str
) -> None:
    client = skipping.client
    customer_id, handle = await start(client, store, task_queue)
    now = await skipping.get_current_time()
    conversation_id = await handle.execute_update(
        ADD_INTERACTION, inbound(store, customer_id, now, timedelta(hours=48)), result_type=str
    )
    # 90 min later a message the conversation is not told of: its persist step threads it
    # (at the server's time, which the test skips ahead of the machine's clock).
    await skipping.sleep(timedelta(minutes=90))
    later = await skipping.get_current_time()
    quiet = inbound(store, customer_id, later, timedelta(hours=48))
    with write_transaction(store.engine) as conn:
        threaded = thread_in_store(conn, quiet.interaction_id, customer_id, Channel.SMS, later)
    assert threaded == conversation_id
    # The inactivity deadline the workflow knew (2 h after the first message) passes: it asks
    # the store, finds the newer activity and waits 2 h from it.
    await skipping.sleep(timedelta(minutes=89))
    state: ConversationState = await handle.query(ConversationWorkflow.current)
    assert state.status == "open"
    assert state.last_activity_at is not None and state.last_activity_at >= later
    assert "auto_resolved" not in kinds(store, conversation_id)
    await skipping.sleep(timedelta(minutes=32))
    state = await handle.query(ConversationWorkflow.current)
    assert state.status == "resolved" and state.resolution_code == "auto_resolved"
    assert kinds(store, conversation_id)[-1] == "auto_resolved"
