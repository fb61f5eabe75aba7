"""Record workflow histories for the replay test.

Run on purpose, when a workflow change is meant to be compatible only through patching: record
the histories of the code before the change (the histories of running workflows), then of the
code after, each under a tag of its own, and keep them all:

    PYTHONPATH=<the old code's src> .venv/bin/python -m tests.workflows.record_histories by_update
    .venv/bin/python -m tests.workflows.record_histories by_signal

`record_histories TAG orphan_callbacks` records only the orphan callbacks' histories;
`record_histories TAG media` only an SMS, an MMS whose image is copied from the Twilio double,
and a call whose recording is (patch `interaction-media-copies`).

Besides the messages and their conversation, and a recording callback orphaned or merged
after waiting for its call, it records a conversation that goes through
everything an agent and the timers do (a failed and a sent reply, SLA breach, escalation,
assignment, resolution, reopening, auto-resolution, continue-as-new; since SLA policies, the
next-response and resolution targets too) and one run of the export
and of the retention workflow.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.testing import WorkflowEnvironment
from twilio.rest import Client as TwilioClient

from activities.export import ExportActivities
from activities.media import MediaActivities
from activities.reply import Senders
from activities.retention import Retention, RetentionActivities
from analytics.privacy import Privacy
from runtime.temporal_server import temporal_binary
from runtime.worker import build_analytics_worker, build_worker
from switchboard import routing, search_attributes
from switchboard.blobs import BlobStore
from switchboard.contract import (
    ASSIGN,
    REOPEN,
    REPLY,
    RESOLVE,
    THREAD,
    AssignInput,
    Channel,
    Content,
    ConversationInput,
    ConversationPolicy,
    ConversationState,
    CustomerInteraction,
    Direction,
    Identity,
    IdentityKind,
    InteractionInput,
    InteractionRef,
    Provider,
    RawEvent,
    ReopenInput,
    ReplyInput,
    ResolveInput,
    Route,
    SlaPolicy,
    Status,
    ThreadSignal,
    conversation_workflow_id,
)
from switchboard.providers import PARSERS
from switchboard.store import Store
from switchboard.store.media import MediaStore
from switchboard.twilio_files import TwilioFiles
from tests.support.builders import (
    ACCOUNT_SID,
    RECORDING_PATH,
    SMS_PATH,
    VOICE_PATH,
    call_fields,
    media_path,
    mms_fields,
    recording_fields,
    recording_path,
    sms_input,
    sms_raw,
    twilio_sid,
)
from tests.support.fixtures import FIXTURE_PUBLIC_URL, FIXTURE_TOKEN, load_fixture
from tests.support.keys import DATA_CONVERTER
from tests.support.provider_double import INVALID_NUMBER, ProviderDouble, provider_double
from workflows import ConversationWorkflow, ExportWorkflow, InteractionWorkflow, RetentionWorkflow

HISTORIES = Path(__file__).with_name("histories")
VOICE = load_fixture("twilio_voice.json")
# Short timers, so that they fire while recording; continue-as-new after the last action.
ACTIONS_POLICY = ConversationPolicy(
    auto_resolve_after_s=3,
    reopen_window_s=3600,
    escalation_queue="escalations",
    max_history_events=79,
)
# SLA targets of seconds on a calendar open all day, every day: they fall due while recording.
SECONDS_SLA = SlaPolicy(
    first_response_s=1,
    next_response_s=1,
    resolution_s=4,
    days=list(range(7)),
    opens="00:00",
    closes="23:59:59",
)


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


def _twilio_input(kind: str, fields: list[tuple[str, str]], path: str) -> InteractionInput:
    received_at = datetime.now(UTC)
    event = PARSERS[(Provider.TWILIO, kind)](fields, received_at)
    raw = RawEvent(
        provider=Provider.TWILIO,
        kind=kind,
        event_key=event.event_key,
        received_at=received_at,
        url=FIXTURE_PUBLIC_URL + path,
        content_type="application/x-www-form-urlencoded",
        fields=fields,
    )
    return InteractionInput(raw=raw)


def _voice_input(kind: str, fixture: str, ids: dict[str, str], wait_s: float) -> InteractionInput:
    """A Twilio voice webhook (`kind`) of the recorded fixture, for this call and recording."""
    fields = list((VOICE[fixture]["params"] | ids).items())
    return replace(_twilio_input(kind, fields, "/webhooks/twilio/voice"), orphan_wait_s=wait_s)


async def _orphan_callbacks(client: Client, tag: str) -> None:
    """A recording for a call never seen, kept as orphaned after its wait (`orphan-callback-
    wait`); and one whose call is stored while it waits, merged into it."""
    for name, call_arrives in (("orphaned", False), ("merged_after_wait", True)):
        ids = {"CallSid": "CA" + uuid.uuid4().hex, "RecordingSid": "RE" + uuid.uuid4().hex}
        recording = _voice_input("voice_recording", "recording_status_completed", ids, 3)
        handle = await client.start_workflow(
            InteractionWorkflow.run,
            recording,
            id=f"interaction:record:recording_{name}",
            task_queue="record",
        )
        if call_arrives:
            await asyncio.sleep(1.5)  # it has waited on a timer at least once
            call = _voice_input("voice", "inbound_call", ids, 3)
            await client.execute_workflow(
                InteractionWorkflow.run,
                call,
                id=f"interaction:record:call_{name}",
                task_queue="record",
            )
        result = await handle.result()
        assert result.orphaned is not call_arrives, result
        await _save(handle, f"interaction_recording_{name}_{tag}")


async def _media(client: Client, double: ProviderDouble, tag: str) -> None:
    """An SMS (`CustomerId` upserted after dedupe), an MMS whose image and a call whose
    recording `copy_media` copies from the Twilio double."""
    sender = "+14155550143"
    await _interaction(client, f"interaction_sms_{tag}", sms_input(sender=sender, body="hi"))
    mms_sid = twilio_sid("MM")
    image = media_path(mms_sid)
    double.files[image] = (b"\xff\xd8\xff\xe0 recorded", "image/jpeg")
    fields = mms_fields(mms_sid, sender, "a photo", [(image, "image/jpeg")])
    await _interaction(client, f"interaction_mms_{tag}", _twilio_input("sms", fields, SMS_PATH))
    call_sid, recording = twilio_sid("CA"), recording_path()
    double.files[recording] = (b"RIFF recorded", "audio/x-wav")
    call = _twilio_input("voice", call_fields(call_sid, sender), VOICE_PATH)
    await _interaction(client, f"interaction_call_{tag}", call)
    done = _twilio_input("voice_recording", recording_fields(call_sid, recording), RECORDING_PATH)
    await _interaction(client, f"interaction_recording_{tag}", done)


async def _until(handle: WorkflowHandle, done: str) -> ConversationState:
    """Wait (real time) until the conversation's state says `done` happened."""
    for _ in range(100):
        state: ConversationState = await handle.query(ConversationWorkflow.current)
        if (done == "breached" and state.sla_breached) or (
            done == "resolved" and state.status == "resolved"
        ):
            return state
        await asyncio.sleep(0.2)
    raise TimeoutError(f"the conversation never got {done}")


async def _conversation_actions(client: Client, store: Store, name: str) -> None:
    customer_id = store.resolve_customer(Identity(IdentityKind.PHONE, "+14155550177"))

    def inbound(sender: str, first_response: timedelta) -> ThreadSignal:
        # Stored first: the conversation reads the interactions it is signalled from the store.
        now = datetime.now(UTC)
        raw = sms_raw(sender=sender)
        ref = InteractionRef(
            interaction_id=str(uuid.uuid4()),
            customer_id=customer_id,
            channel=Channel.SMS,
            direction=Direction.INBOUND,
            route=Route("messaging", 2, now + first_response, sla=SECONDS_SLA),
        )
        store.persist_interaction(
            CustomerInteraction(
                interaction_id=ref.interaction_id,
                customer_id=customer_id,
                channel=ref.channel,
                direction=ref.direction,
                provider=Provider.TWILIO,
                provider_message_id=raw.event_key,
                from_address=sender,
                to_address="+14155550100",
                occurred_at=now,
                received_at=now,
                content=Content(text="hello"),
                status=Status.COMPLETED,
                route=ref.route,
            ),
            raw,
        )
        return ThreadSignal(ref.interaction_id)

    handle = await client.start_workflow(
        ConversationWorkflow.run,
        ConversationInput(customer_id, ACTIONS_POLICY),
        id=conversation_workflow_id(customer_id),
        task_queue="record",
        start_signal=THREAD,
        start_signal_args=[inbound(INVALID_NUMBER, timedelta(seconds=1))],
    )
    await _until(handle, "breached")  # and escalated
    with contextlib.suppress(WorkflowUpdateFailedError):  # Twilio refuses the number
        await handle.execute_update(REPLY, ReplyInput("We are on it."))
    await handle.signal(THREAD, inbound("+14155550177", timedelta(hours=1)))
    await handle.execute_update(ASSIGN, AssignInput("ada"))
    await handle.execute_update(REPLY, ReplyInput("It ships today."))
    await handle.execute_update(RESOLVE, ResolveInput("answered"))
    await handle.execute_update(REOPEN, ReopenInput("not yet"))
    await _until(handle, "resolved")  # automatically, after 3 s of quiet
    # A customer message reopens it; the history is past its limit, so the run continues as new.
    await handle.signal(THREAD, inbound("+14155550177", timedelta(hours=1)))
    await asyncio.sleep(1)
    await _save(client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id), name)


async def main(tag: str, only: str | None = None) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=search_attributes.ALL,
        data_converter=DATA_CONVERTER,
    )
    with (
        tempfile.TemporaryDirectory() as tmp,
        ThreadPoolExecutor(4) as executor,
        provider_double() as double,
    ):
        store = Store.from_url(f"sqlite:///{tmp}/record.db")
        store.migrate()
        twilio = TwilioClient("AC" + "0" * 32, FIXTURE_TOKEN)
        twilio.api.base_url = double.url
        senders = Senders(twilio, "+14155550100", None, None, None)
        rules = routing.load()
        exports = ExportActivities(store, Path(tmp) / "exports", Privacy(b"record"), rules.hours)
        async with (
            build_worker(
                env.client,
                store,
                "record",
                executor,
                4,
                senders=senders,
                rules=rules,
                media=MediaActivities(
                    MediaStore(store.engine),
                    BlobStore(Path(tmp) / "blobs"),
                    TwilioFiles(ACCOUNT_SID, FIXTURE_TOKEN, double.url),
                    1 << 20,
                ),
            ),
            build_analytics_worker(
                # The schedules' workflows on a task queue of their own, as in production.
                env.client,
                "record-analytics",
                executor,
                exports,
                RetentionActivities(store, Retention()),
            ),
        ):
            if only == "media":
                await _media(env.client, double, tag)
            else:
                await _orphan_callbacks(env.client, tag)
            if only is None:
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
                await _conversation_actions(env.client, store, f"conversation_actions_{tag}")
                for workflow, name in (
                    (ExportWorkflow, "export"),
                    (RetentionWorkflow, "retention"),
                ):
                    handle = await env.client.start_workflow(
                        workflow.run,  # type: ignore[attr-defined]
                        id=f"{name}:record",
                        task_queue="record-analytics",
                    )
                    await handle.result()
                    await _save(handle, f"{name}_{tag}")
        store.close()
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:3]))
