"""Record InteractionWorkflow histories for the replay test.

Run on purpose, when a workflow change is meant to be incompatible and is deployed with
patching or a new workflow type:  .venv/bin/python -m tests.workflows.record_histories
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from switchboard import search_attributes
from switchboard.contract import InteractionInput
from switchboard.store import Store
from switchboard.temporal_server import temporal_binary
from switchboard.worker import build_worker
from tests.helpers import sms_input
from workflows import InteractionWorkflow

HISTORIES = Path(__file__).with_name("histories")


async def _record(client: Client, name: str, inp: InteractionInput) -> None:
    handle = await client.start_workflow(
        InteractionWorkflow.run, inp, id=f"interaction:record:{name}", task_queue="record"
    )
    # A failed run is a history worth replaying too.
    with contextlib.suppress(WorkflowFailureError):
        await handle.result()
    history = await handle.fetch_history()
    (HISTORIES / f"{name}.json").write_text(history.to_json())


async def main() -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), search_attributes=search_attributes.ALL
    )
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(4) as executor:
        store = Store.from_url(f"sqlite:///{tmp}/record.db")
        store.migrate()
        async with build_worker(env.client, store, "record", executor, 4):
            await _record(env.client, "interaction_sms_completed", sms_input(body="hello"))
            malformed = sms_input()
            malformed.raw.fields = [(k, v) for k, v in malformed.raw.fields if k != "From"]
            await _record(env.client, "interaction_sms_malformed", malformed)
        store.close()
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
