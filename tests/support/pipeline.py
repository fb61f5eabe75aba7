"""Running messages through the real pipeline on the test Temporal, and watching them land."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from activities.media import MediaActivities
from runtime.worker import build_worker
from switchboard.blobs import BlobStore
from switchboard.contract import (
    InteractionInput,
    InteractionResult,
    RawEvent,
    interaction_workflow_id,
)
from switchboard.routing import Rules
from switchboard.store import Store
from switchboard.store.media import MediaStore
from switchboard.twilio_files import TwilioFiles
from tests.support.builders import ACCOUNT_SID, sms_input
from tests.support.fixtures import FIXTURE_TOKEN
from tests.support.settings import timeless_rules
from workflows import InteractionWorkflow


@asynccontextmanager
async def running_worker(
    client: Client,
    store: Store,
    task_queue: str,
    slots: int = 16,
    rules: Rules | None = None,
    media: MediaActivities | None = None,
) -> AsyncIterator[Worker]:
    """The real worker (every workflow and activity) on `task_queue`, timeless rules by default;
    `media` copies files from a Twilio double."""
    with ThreadPoolExecutor(max_workers=slots) as executor:
        async with build_worker(
            client, store, task_queue, executor, slots, rules=rules or timeless_rules(), media=media
        ) as running:
            yield running


async def run_sms(
    client: Client, store: Store, task_queue: str, messages: list[tuple[str, str]]
) -> None:
    """(sender, text) SMS through the real pipeline, one by one, on a worker of their own."""
    raws = [sms_input(sender=sender, body=text).raw for sender, text in messages]
    await run_events(client, store, task_queue, raws)


async def run_events(client: Client, store: Store, task_queue: str, raws: list[RawEvent]) -> None:
    """Provider events through the real pipeline, one by one, on a worker of their own."""
    async with running_worker(client, store, task_queue, slots=8):
        for raw in raws:
            await client.execute_workflow(
                InteractionWorkflow.run,
                InteractionInput(raw=raw),
                id=interaction_workflow_id(raw.provider, raw.event_key),
                task_queue=task_queue,
            )


async def interaction_result(client: Client, provider: str, key: str) -> InteractionResult:
    """The finished InteractionWorkflow of a provider event."""
    handle = client.get_workflow_handle_for(
        InteractionWorkflow.run, interaction_workflow_id(provider, key)
    )
    return await asyncio.wait_for(handle.result(), timeout=60)


async def threaded_conversation(client: Client, store: Store, provider: str, key: str) -> str:
    """The conversation a provider event was threaded into, as the store records it.

    The interaction workflow signals the conversation and ends; the conversation threads the
    interaction a moment later.
    """
    result = await interaction_result(client, provider, key)
    for _ in range(300):
        interaction = store.get_interaction(result.interaction_id)
        if interaction is not None and interaction.conversation_id:
            return interaction.conversation_id
        await asyncio.sleep(0.1)
    raise AssertionError(f"{result.interaction_id} was not threaded into a conversation in 30 s")


async def assert_nothing_started(client: Client, task_queue: str) -> None:
    """No workflow was started on the test's own task queue (visibility is read directly)."""
    started = [wf.id async for wf in client.list_workflows(f"TaskQueue = '{task_queue}'")]
    assert started == [], f"rejected requests started workflows: {started}"


def twilio_media(
    store: Store, data_dir: Path, api_base_url: str, max_bytes: int
) -> MediaActivities:
    """`copy_media` fetching from a Twilio double (tests.support.provider_double) into the
    blobs of `data_dir`, as the ingress there serves them."""
    return MediaActivities(
        MediaStore(store.engine),
        BlobStore(data_dir / "blobs"),
        TwilioFiles(ACCOUNT_SID, FIXTURE_TOKEN, api_base_url),
        max_bytes,
    )
