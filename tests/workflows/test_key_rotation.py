"""Key rotation: workflows started under key A complete, and replay, once key B seals."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Replayer

from runtime.worker import build_worker
from switchboard.codec import Keyring
from switchboard.contract import InteractionResult
from switchboard.converter import data_converter
from switchboard.store import Store
from tests.support.builders import random_phone, sms_input
from tests.support.keys import KEY_A, KEY_B
from tests.support.settings import timeless_rules
from workflows import RUNNER, ConversationWorkflow, InteractionWorkflow


def client_with(client: Client, keys: str) -> Client:
    return Client(
        client.service_client,
        namespace=client.namespace,
        data_converter=data_converter(Keyring.parse(keys)),
    )


async def test_workflows_started_under_key_a_complete_and_replay_after_key_b_leads(
    client: Client, store: Store, task_queue: str
) -> None:
    under_a, under_b = client_with(client, KEY_A), client_with(client, f"{KEY_B},{KEY_A}")
    handles = [
        await under_a.start_workflow(
            InteractionWorkflow.run,
            sms_input(sender=random_phone(), body=f"message {i}"),
            id=f"interaction:rotation:{task_queue}:{i}",
            task_queue=task_queue,
        )
        for i in range(2)
    ]
    # Only now a worker, and it already seals with B: the deployment rolled the new key out.
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with build_worker(under_b, store, task_queue, executor, 4, rules=timeless_rules()):
            results = [
                await asyncio.wait_for(
                    under_b.get_workflow_handle_for(InteractionWorkflow.run, h.id).result(), 60
                )
                for h in handles
            ]
    assert all(isinstance(r, InteractionResult) and r.customer_id for r in results)

    history = await under_b.get_workflow_handle(handles[0].id).fetch_history()
    key_ids = {
        payload.metadata.get("encryption-key-id")
        for event in history.events
        if event.HasField("workflow_execution_started_event_attributes")
        or event.HasField("workflow_execution_completed_event_attributes")
        for payload in (
            *event.workflow_execution_started_event_attributes.input.payloads,
            *event.workflow_execution_completed_event_attributes.result.payloads,
        )
    }
    assert key_ids == {b"test-a", b"test-b"}

    def replayer(keys: str) -> Replayer:
        return Replayer(
            workflows=[InteractionWorkflow, ConversationWorkflow],
            workflow_runner=RUNNER,
            data_converter=data_converter(Keyring.parse(keys)),
        )

    replayed = await replayer(f"{KEY_B},{KEY_A}").replay_workflow(history)
    assert replayed.replay_failure is None
    # Retiring A too early is what breaks: its payloads no longer open.
    without_a = await replayer(KEY_B).replay_workflow(history, raise_on_replay_failure=False)
    assert without_a.replay_failure is not None
