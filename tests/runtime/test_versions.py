"""A release under Worker Versioning: interactions in flight on version N when its worker
stops, version N+1 with a changed InteractionWorkflow started; every interaction completes
exactly once, under `switchboard up`'s procedure (`versions.promote`) and in a rolling
release of two workers a version (`versions.promote_if_new`). Real dev server, real workers.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkerDeploymentVersion

from runtime import versions
from runtime.worker import WORKFLOWS, build_worker
from switchboard.contract import (
    ASSIGN,
    AssignInput,
    InteractionInput,
    InteractionResult,
    Provider,
    RawEvent,
    conversation_workflow_id,
    interaction_workflow_id,
)
from switchboard.providers import PARSERS
from switchboard.settings import WorkerSettings
from switchboard.store import Store
from tests.support.builders import random_phone, sms_input
from tests.support.fixtures import FIXTURE_PUBLIC_URL, load_fixture
from tests.support.pipeline import running_worker, threaded_conversation
from tests.support.settings import timeless_rules
from workflows import ConversationWorkflow, InteractionWorkflow

RELEASE_MEMO = "release"
VOICE = load_fixture("twilio_voice.json")


def voice_input(kind: str, fixture: str, ids: dict[str, str], wait_s: float) -> InteractionInput:
    """A Twilio voice webhook (`kind`) of the recorded fixture, for this call and recording;
    a recording callback for a call not stored yet waits for it `wait_s`."""
    fields = list((VOICE[fixture]["params"] | ids).items())
    received_at = datetime.now(UTC)
    event = PARSERS[(Provider.TWILIO, kind)](fields, received_at)
    raw = RawEvent(
        provider=Provider.TWILIO,
        kind=kind,
        event_key=event.event_key,
        received_at=received_at,
        url=FIXTURE_PUBLIC_URL + "/webhooks/twilio/voice",
        content_type="application/x-www-form-urlencoded",
        fields=fields,
    )
    return InteractionInput(raw=raw, orphan_wait_s=wait_s)


# Version N+1's change: a step after the run (the in-flight runs have not reached it, so their
# histories replay on it).
@workflow.defn(name="InteractionWorkflow", sandboxed=False)
class AfterwardsChanged(InteractionWorkflow):
    @workflow.run
    async def run(self, inp: InteractionInput) -> InteractionResult:
        result = await super().run(inp)
        workflow.upsert_memo({RELEASE_MEMO: "n+1"})
        return result


# A change before the first step: no history of N replays on it.
@workflow.defn(name="InteractionWorkflow", sandboxed=False)
class FirstStepChanged(InteractionWorkflow):
    @workflow.run
    async def run(self, inp: InteractionInput) -> InteractionResult:
        workflow.upsert_memo({RELEASE_MEMO: "n+1"})
        return await super().run(inp)


def changed(interaction: type) -> list[type]:
    return [interaction, *(w for w in WORKFLOWS if w is not InteractionWorkflow)]


@asynccontextmanager
async def worker_of(
    client: Client,
    store: Store,
    task_queue: str,
    version: WorkerDeploymentVersion,
    workflows: Sequence[type] = WORKFLOWS,
) -> AsyncIterator[None]:
    with ThreadPoolExecutor(max_workers=8) as executor:
        async with build_worker(
            client,
            store,
            task_queue,
            executor,
            8,
            rules=timeless_rules(),
            deployment=versions.deployment_config(version),
            workflows=workflows,
        ):
            yield


async def waiting_callbacks(client: Client, task_queue: str, count: int) -> list[dict[str, str]]:
    """`count` recording callbacks of calls not stored yet, each waiting on its timer."""
    calls = [
        {"CallSid": "CA" + uuid.uuid4().hex, "RecordingSid": "RE" + uuid.uuid4().hex}
        for _ in range(count)
    ]
    for ids in calls:
        await client.start_workflow(
            InteractionWorkflow.run,
            voice_input("voice_recording", "recording_status_completed", ids, 600),
            id=f"recording-{ids['RecordingSid']}",
            task_queue=task_queue,
        )
    for ids in calls:
        await until_timer(client.get_workflow_handle(f"recording-{ids['RecordingSid']}"))
    return calls


async def until_timer(handle: WorkflowHandle[Any, Any]) -> None:
    for _ in range(200):
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} never waited for its call")


async def calls_arrive(client: Client, task_queue: str, calls: list[dict[str, str]]) -> None:
    for ids in calls:
        await client.execute_workflow(
            InteractionWorkflow.run,
            voice_input("voice", "inbound_call", ids, 600),
            id=f"call-{ids['CallSid']}",
            task_queue=task_queue,
        )


async def release_of_run(handle: WorkflowHandle[Any, Any]) -> tuple[str, str | None]:
    """(the build id the run ended on, the memo N+1's code sets)."""
    described = await handle.describe()
    info = described.raw_description.workflow_execution_info.versioning_info
    memo = await described.memo()
    return info.deployment_version.build_id, memo.get(RELEASE_MEMO)


async def completed_once(
    client: Client, store: Store, calls: list[dict[str, str]]
) -> list[tuple[str, str | None]]:
    """Every callback merged into its call, each workflow id run once; their releases."""
    releases = []
    for ids in calls:
        handle = client.get_workflow_handle_for(
            InteractionWorkflow.run, f"recording-{ids['RecordingSid']}"
        )
        result = await handle.result()
        assert not result.orphaned
        call = await client.get_workflow_handle_for(
            InteractionWorkflow.run, f"call-{ids['CallSid']}"
        ).result()
        assert result.interaction_id == call.interaction_id
        runs = [r async for r in client.list_workflows(f"WorkflowId = '{handle.id}'")]
        assert len(runs) == 1
        stored = store.get_interaction(call.interaction_id)
        assert stored is not None and stored.status != "failed"
        releases.append(await release_of_run(handle))
    return releases


def two_versions() -> tuple[WorkerDeploymentVersion, WorkerDeploymentVersion]:
    name = f"sb-{uuid.uuid4().hex[:8]}"
    return WorkerDeploymentVersion(name, "n"), WorkerDeploymentVersion(name, "n-plus-1")


async def test_up_moves_runs_that_replay_to_the_new_version(
    client: Client, store: Store, task_queue: str
) -> None:
    n, n1 = two_versions()
    async with worker_of(client, store, task_queue, n):
        assert await versions.promote(client, n, WORKFLOWS, [task_queue]) == []
        calls = await waiting_callbacks(client, task_queue, 3)
    # N's worker stopped mid-flight; `up` starts N+1 (one version at a time).
    async with worker_of(client, store, task_queue, n1, changed(AfterwardsChanged)):
        moved = await versions.promote(client, n1, changed(AfterwardsChanged), [task_queue])
        assert sorted(run.workflow_id for run in moved) == sorted(
            f"recording-{ids['RecordingSid']}" for ids in calls
        )
        await calls_arrive(client, task_queue, calls)
        releases = await completed_once(client, store, calls)
    assert releases == [("n-plus-1", "n+1")] * 3
    call = client.get_workflow_handle(f"call-{calls[0]['CallSid']}")
    assert await release_of_run(call) == ("n-plus-1", "n+1")


async def test_up_refuses_a_release_its_runs_do_not_replay_on(
    client: Client, store: Store, task_queue: str
) -> None:
    n, n1 = two_versions()
    async with worker_of(client, store, task_queue, n):
        await versions.promote(client, n, WORKFLOWS, [task_queue])
        calls = await waiting_callbacks(client, task_queue, 2)
    async with worker_of(client, store, task_queue, n1, changed(FirstStepChanged)):
        with pytest.raises(versions.VersionRefused) as refused:
            await versions.promote(client, n1, changed(FirstStepChanged), [task_queue])
    message = str(refused.value)
    assert "2 running workflow(s) of version" in message and "run the previous release" in message
    assert f"recording-{calls[0]['RecordingSid']}" in message
    # Nothing moved, N still current: the previous release finishes them.
    async with worker_of(client, store, task_queue, n):
        await calls_arrive(client, task_queue, calls)
        assert await completed_once(client, store, calls) == [("n", None)] * 2


async def test_a_rolling_release_drains_the_old_workers(
    client: Client, store: Store, task_queue: str
) -> None:
    n, n1 = two_versions()
    # Two workers a version, each on a connection of its own, as two processes would be.
    other = await Client.connect(
        client.service_client.config.target_host,
        namespace=client.namespace,
        data_converter=client.data_converter,
    )
    async with AsyncExitStack() as old:
        for connection in (client, other):
            await old.enter_async_context(worker_of(connection, store, task_queue, n))
        assert await versions.promote_if_new(client, n)
        calls = await waiting_callbacks(client, task_queue, 3)
        async with AsyncExitStack() as new:
            for connection in (client, other):
                await new.enter_async_context(
                    worker_of(connection, store, task_queue, n1, changed(AfterwardsChanged))
                )
            assert await versions.promote_if_new(client, n1)
            # An old worker restarting while it drains does not take the deployment back.
            assert not await versions.promote_if_new(client, n)
            await calls_arrive(client, task_queue, calls)
            # The calls ran on N+1; the callbacks pinned to N end there, on the old workers.
            call = client.get_workflow_handle(f"call-{calls[0]['CallSid']}")
            assert await release_of_run(call) == ("n-plus-1", "n+1")
            assert await completed_once(client, store, calls) == [("n", None)] * 3
    assert await versions.version_status(client, n) in (
        versions.Status.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING,
        versions.Status.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINED,
    )


async def sms_threaded(
    client: Client, store: Store, task_queue: str, sender: str
) -> tuple[str, str]:
    """(its customer, its conversation) of an SMS run through the pipeline."""
    inp = sms_input(sender=sender, body="where is my parcel")
    result = await client.execute_workflow(
        InteractionWorkflow.run,
        inp,
        id=interaction_workflow_id(inp.raw.provider, inp.raw.event_key),
        task_queue=task_queue,
    )
    conversation_id = await threaded_conversation(
        client, store, inp.raw.provider, inp.raw.event_key
    )
    return result.customer_id, conversation_id


async def test_a_conversation_continues_as_new_on_the_new_version_with_its_state(
    client: Client, store: Store, task_queue: str
) -> None:
    n, n1 = two_versions()
    sender = random_phone()
    async with worker_of(client, store, task_queue, n):
        await versions.promote(client, n, WORKFLOWS, [task_queue])
        customer_id, conversation_id = await sms_threaded(client, store, task_queue, sender)
        handle = client.get_workflow_handle_for(
            ConversationWorkflow.run, conversation_workflow_id(customer_id)
        )
        before = await handle.query(ConversationWorkflow.current)
        first_run = (await handle.describe()).run_id
    async with worker_of(client, store, task_queue, n1):
        await versions.promote(client, n1, WORKFLOWS, [task_queue])
        # Threaded by its persist step: the open conversation is not woken for it.
        again = await sms_threaded(client, store, task_queue, sender)
        assert again == (customer_id, conversation_id)
        # An agent's action wakes it on N+1, where it continues as new.
        await handle.execute_update(ASSIGN, AssignInput("ada", actor="key:desk"))
        after = await handle.query(ConversationWorkflow.current)
        described = await handle.describe()
    # A new run, on N+1, with the clocks, the SLA state and the events of the old one.
    assert described.run_id != first_run
    assert (
        described.raw_description.workflow_execution_info.versioning_info.deployment_version.build_id
        == "n-plus-1"
    )
    assert after.conversation_id == conversation_id and after.assignee == "ada"
    assert after.interaction_count == before.interaction_count
    assert (after.opened_at, after.first_response_due_at, after.sla, after.resolution_due_at) == (
        before.opened_at,
        before.first_response_due_at,
        before.sla,
        before.resolution_due_at,
    )
    assert after.resolution_used_s >= before.resolution_used_s
    assert after.event_count > before.event_count


async def test_runs_from_before_versioning_are_checked_then_follow_the_first_version(
    client: Client, store: Store, task_queue: str
) -> None:
    async with running_worker(client, store, task_queue):  # unversioned, as releases were
        calls = await waiting_callbacks(client, task_queue, 2)
    n, _ = two_versions()
    async with worker_of(client, store, task_queue, n, changed(FirstStepChanged)):
        with pytest.raises(versions.VersionRefused, match="unversioned"):
            await versions.promote(client, n, changed(FirstStepChanged), [task_queue])
    async with worker_of(client, store, task_queue, n, changed(AfterwardsChanged)):
        assert await versions.promote(client, n, changed(AfterwardsChanged), [task_queue]) == []
        await calls_arrive(client, task_queue, calls)
        assert await completed_once(client, store, calls) == [("n", "n+1")] * 2


async def test_a_conversation_follows_a_rolling_release_when_it_wakes(
    client: Client, store: Store, task_queue: str
) -> None:
    n, n1 = two_versions()
    sender = random_phone()
    async with worker_of(client, store, task_queue, n):
        assert await versions.promote_if_new(client, n)
        customer_id, conversation_id = await sms_threaded(client, store, task_queue, sender)
        handle = client.get_workflow_handle_for(
            ConversationWorkflow.run, conversation_workflow_id(customer_id)
        )
        before = await handle.query(ConversationWorkflow.current)
        first_run = (await handle.describe()).run_id
        async with worker_of(client, store, task_queue, n1):
            assert await versions.promote_if_new(client, n1)
            # The message is threaded by its persist step; an agent's action wakes the
            # conversation on N's worker, and it continues as new on N+1.
            again = await sms_threaded(client, store, task_queue, sender)
            assert again == (customer_id, conversation_id)
            await handle.execute_update(ASSIGN, AssignInput("ada", actor="key:desk"))
            after = await handle.query(ConversationWorkflow.current)
            described = await handle.describe()
    info = described.raw_description.workflow_execution_info.versioning_info
    assert described.run_id != first_run and info.deployment_version.build_id == "n-plus-1"
    assert (after.opened_at, after.sla, after.interaction_count, after.assignee) == (
        before.opened_at,
        before.sla,
        before.interaction_count,
        "ada",
    )


def test_a_release_is_named_by_its_workflow_code_unless_a_build_id_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SWITCHBOARD_BUILD_ID", raising=False)
    release = versions.release_of(WorkerSettings(deployment_name="switchboard"))
    assert release == WorkerDeploymentVersion("switchboard", versions.code_build_id())
    assert len(release.build_id) == 16 and release.build_id == versions.code_build_id()
    monkeypatch.setenv("SWITCHBOARD_BUILD_ID", "2026-12-07.1")
    assert versions.release_of(WorkerSettings()).build_id == "2026-12-07.1"
    # Temporal writes a version as `name.build`: a dot in the name is refused up front.
    monkeypatch.setenv("SWITCHBOARD_DEPLOYMENT_NAME", "switch.board")
    with pytest.raises(ValidationError, match="deployment_name"):
        WorkerSettings()
