"""One customer's conversation after N interactions: history length (continue-as-new) and time.

A real dev server and worker (SQLite store in a temp dir); N interactions are signalled to
one conversation one after another, the way InteractionWorkflow hands them over, and the time
runs until the conversation has threaded them all.

Usage:  .venv/bin/python -m bench.conversation_history [--count 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from bench.sms_latency import write
from runtime.temporal_server import temporal_binary
from runtime.worker import build_worker
from switchboard import routing, search_attributes
from switchboard.codec import Keyring
from switchboard.contract import (
    THREAD,
    Channel,
    ConversationInput,
    ConversationPolicy,
    Direction,
    Identity,
    IdentityKind,
    InteractionRef,
    Route,
    conversation_workflow_id,
)
from switchboard.converter import data_converter
from switchboard.store import ConversationStore, Store
from workflows import ConversationWorkflow


async def main(count: int) -> dict[str, object]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=search_attributes.ALL,
        data_converter=data_converter(Keyring.parse(Keyring.new_entry("bench"))),
    )
    policy = ConversationPolicy()
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(16) as executor:
        store = Store.from_url(f"sqlite:///{tmp}/bench.db")
        store.migrate()
        customer_id = store.resolve_customer(Identity(IdentityKind.PHONE, "+14155550123"))
        async with build_worker(
            env.client, store, "bench", executor, 16, policy, rules=routing.load()
        ):
            handle = await env.client.start_workflow(
                ConversationWorkflow.run,
                ConversationInput(customer_id, policy),
                id=conversation_workflow_id(customer_id),
                task_queue="bench",
            )
            channels = [Channel.SMS, Channel.VOICE, Channel.EMAIL]
            started = time.perf_counter()
            for i in range(count):
                await handle.signal(
                    THREAD,
                    InteractionRef(
                        interaction_id=str(uuid.uuid4()),
                        customer_id=customer_id,
                        channel=channels[i % 3],
                        direction=Direction.INBOUND,
                        from_address="+14155550123",
                        route=Route("messaging", 2, datetime.now(UTC) + timedelta(hours=1)),
                    ),
                )
            while (await handle.query(ConversationWorkflow.current)).interaction_count < count:
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
            current = await handle.describe()
            runs = [wf async for wf in env.client.list_workflows(f"WorkflowId = '{handle.id}'")]
            state = await handle.query(ConversationWorkflow.current)
            conversation = ConversationStore(store.engine).get(state.conversation_id or "")
        store.close()
    await env.shutdown()
    return {
        "interactions": count,
        "seconds": round(elapsed, 2),
        "interactions_per_s": round(count / elapsed, 1),
        "current_run_history_length": current.history_length,
        "max_history_events_policy": policy.max_history_events,
        "runs_continued_as_new": len(runs) - 1,
        "state_interaction_count": state.interaction_count,
        "stored_events": len(conversation["events"]) if conversation else 0,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="conversation history length after N interactions")
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    write("conversation_history", asyncio.run(main(args.count)))
