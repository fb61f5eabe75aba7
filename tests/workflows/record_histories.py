"""Record workflow histories for the replay test.

Run on purpose, when a workflow change is meant to be compatible only through patching: record
the histories of the code before the change (the histories of running workflows), then of the
code after, each under a tag of its own, and keep them all:

    PYTHONPATH=<the old code's src> .venv/bin/python -m tests.workflows.record_histories by_update
    .venv/bin/python -m tests.workflows.record_histories by_signal
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from runtime.temporal_server import temporal_binary
from runtime.worker import build_worker
from switchboard import search_attributes
from switchboard.contract import InteractionInput, conversation_workflow_id
from switchboard.converter import DATA_CONVERTER
from switchboard.store import Store
from tests.support.builders import sms_input
from workflows import InteractionWorkflow

HISTORIES = Path(__file__).with_name("histories")


async def _save(handle: WorkflowHandle, name: str) -> None:
    history = await handle.fetch_history()
    (HISTORIES / f"{name}.json").write_text(history.to_json())


async def _interaction(client: Client, name: str, inp: InteractionInput) -> str | None:
    """Run one interaction to its end, save its history; the customer it found, if any."""
    handle = client.get_workflow_handle_for(InteractionWorkflow.run, f"interaction:record:{name}")
    await client.start_workflow(InteractionWorkflow.run, inp, id=handle.id, task_queue="record")
    customer_id = None
    # A failed run is a history worth replaying too.
    with contextlib.suppress(WorkflowFailureError):
        customer_id = (await handle.result()).customer_id
    await _save(handle, name)
    return customer_id


async def main(tag: str) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=search_attributes.ALL,
        data_converter=DATA_CONVERTER,
    )
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(4) as executor:
        store = Store.from_url(f"sqlite:///{tmp}/record.db")
        store.migrate()
        async with build_worker(env.client, store, "record", executor, 4):
            sender = "+14155550142"
            customer_id = await _interaction(
                env.client, f"interaction_sms_{tag}", sms_input(sender=sender, body="hello")
            )
            await _interaction(
                env.client, f"interaction_sms_again_{tag}", sms_input(sender=sender, body="?")
            )
            malformed = sms_input()
            malformed.raw.fields = [(k, v) for k, v in malformed.raw.fields if k != "From"]
            await _interaction(env.client, f"interaction_sms_malformed_{tag}", malformed)
            await asyncio.sleep(1)  # the conversation threads the second message
            assert customer_id is not None
            conversation = env.client.get_workflow_handle(conversation_workflow_id(customer_id))
            await _save(conversation, f"conversation_{tag}")
        store.close()
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
