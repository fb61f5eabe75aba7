"""Status, voice, recording and transcription webhooks merge into one interaction, in any order.

The captured fixture payloads are re-signed for our paths with this module's own token.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.worker import Worker

from runtime.simulate import sign_twilio
from switchboard.contract import interaction_workflow_id
from switchboard.settings import IngressSettings
from switchboard.store import Store
from switchboard.store.tables import interactions
from tests.support.builders import status_fields
from tests.support.fixtures import FIXTURE_PUBLIC_URL, load_fixture
from tests.support.pipeline import assert_nothing_started, threaded_conversation
from tests.support.settings import ingress_settings
from workflows import InteractionWorkflow

TOKEN = secrets.token_hex(16)
STATUS = load_fixture("twilio_message_status_callbacks.json")
VOICE = load_fixture("twilio_voice.json")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


@pytest.fixture
def settings(task_queue: str) -> IngressSettings:
    return ingress_settings(task_queue, twilio_auth_token=TOKEN)


def with_sid(params: dict[str, str], **replace: str) -> list[tuple[str, str]]:
    return [(k, replace.get(k, v)) for k, v in params.items()]


async def post(http: httpx.AsyncClient, path: str, fields: list[tuple[str, str]]) -> httpx.Response:
    signed = sign_twilio(FIXTURE_PUBLIC_URL + path, fields, TOKEN)
    return await http.post(path, content=signed.body, headers=signed.headers)


def rows(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(interactions)).scalar_one())


async def settled(client: Client, event_keys: list[str]) -> None:
    for key in event_keys:
        handle = client.get_workflow_handle_for(
            InteractionWorkflow.run, interaction_workflow_id("twilio", key)
        )
        await asyncio.wait_for(handle.result(), timeout=60)


@pytest.mark.parametrize(
    ("sequence", "final"),
    [
        (STATUS["replay_scenarios"]["out_of_order"], "delivered"),
        (STATUS["replay_scenarios"]["duplicate"], "delivered"),
        (["sent", "undelivered", "sending", "queued"], "undelivered"),
        (["read", "delivered", "sent"], "read"),
    ],
    ids=["out_of_order", "duplicate", "late_non_terminal", "read_first"],
)
async def test_TW_STS_01_statuses_never_move_backwards(
    sequence: list[str],
    final: str,
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
) -> None:
    sid = "SM" + secrets.token_hex(16)
    for status in sequence:
        response = await post(http, "/webhooks/twilio/sms/status", status_fields(sid, status))
        assert response.status_code == 200 and response.text == EMPTY_TWIML
    await settled(client, [f"{sid}:status:{s}" for s in dict.fromkeys(sequence)])
    assert rows(store) == 1
    found = store.find_interaction_key("twilio", sid)
    assert found is not None
    stored = store.get_interaction(found[0])
    assert stored is not None
    assert stored.delivery_status == final
    assert stored.direction == "outbound" and stored.from_address == "+14155550100"


async def test_TW_STS_02_every_known_and_unknown_status_is_accepted(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store
) -> None:
    statuses = [*STATUS["_meta"]["all_status_values_twilio_9_13_0"], "some_future_status"]
    sid = "SM" + secrets.token_hex(16)
    for status in statuses:
        response = await post(http, "/webhooks/twilio/sms/status", status_fields(sid, status))
        assert response.status_code == 200, (status, response.text)
    await settled(client, [f"{sid}:status:{s}" for s in statuses])
    assert rows(store) == 1


def call_events(call_sid: str) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    recording_sid = "RE" + secrets.token_hex(16)
    ids = {"CallSid": call_sid, "RecordingSid": recording_sid}
    return {
        "call": ("/webhooks/twilio/voice", with_sid(VOICE["inbound_call"]["params"], **ids)),
        "recording": (
            "/webhooks/twilio/voice/recording",
            with_sid(VOICE["recording_status_completed"]["params"], **ids),
        ),
        "transcription": (
            "/webhooks/twilio/voice/transcription",
            with_sid(VOICE["transcription_callback"]["params"], **ids),
        ),
        "status": (
            "/webhooks/twilio/voice/status",
            with_sid(VOICE["call_status_completed"]["params"], **ids),
        ),
    }


def event_keys(call_sid: str, events: dict[str, Any]) -> list[str]:
    recording_sid = dict(events["recording"][1])["RecordingSid"]
    return [
        call_sid,
        f"{call_sid}:recording:{recording_sid}:completed",
        f"{call_sid}:transcription:{dict(events['transcription'][1])['TranscriptionSid']}",
        f"{call_sid}:status:completed",
    ]


async def test_TW_VOI_01_TW_RSP_03_incoming_call_records_a_voicemail_with_callbacks_to_us(
    http: httpx.AsyncClient, client: Client, worker: Worker
) -> None:
    call_sid = "CA" + secrets.token_hex(16)
    path, fields = call_events(call_sid)["call"]
    response = await post(http, path, fields)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    twiml = response.text
    assert twiml.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Say>')
    assert 'action="/webhooks/twilio/voice/recording"' in twiml
    assert 'recordingStatusCallback="/webhooks/twilio/voice/recording"' in twiml
    assert 'recordingStatusCallbackEvent="completed absent"' in twiml
    assert 'transcribeCallback="/webhooks/twilio/voice/transcription"' in twiml
    assert len(twiml.encode()) < 64 * 1024
    await settled(client, [call_sid])


# Every order of the three callbacks, with the call first, and two orders with the call last.
ORDERS = [
    ("call", *rest) for rest in itertools.permutations(["recording", "transcription", "status"])
]
ORDERS += [
    ("recording", "transcription", "status", "call"),
    ("status", "call", "transcription", "recording"),
]


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(o) for o in ORDERS])
async def test_call_events_merge_into_one_interaction_in_any_order(
    order: tuple[str, ...], http: httpx.AsyncClient, client: Client, worker: Worker, store: Store
) -> None:
    call_sid = "CA" + secrets.token_hex(16)
    events = call_events(call_sid)
    for name in order:
        path, fields = events[name]
        assert (await post(http, path, fields)).status_code == 200
    await settled(client, event_keys(call_sid, events))

    assert rows(store) == 1
    found = store.find_interaction_key("twilio", call_sid)
    assert found is not None
    call = store.get_interaction(found[0])
    assert call is not None
    assert call.channel == "voice" and call.direction == "inbound"
    assert call.from_address == "+14155550123" and call.to_address == "+14155550100"
    assert call.content.audio_url == dict(events["recording"][1])["RecordingUrl"]
    assert call.content.recording_duration_s == 14
    assert call.content.transcript == VOICE["transcription_callback"]["params"]["TranscriptionText"]
    assert call.delivery_status == "completed"


async def test_TW_VOI_02_absent_recording_is_recorded_as_such(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store
) -> None:
    call_sid = "CA" + secrets.token_hex(16)
    recording_sid = "RE" + secrets.token_hex(16)
    ids = {"CallSid": call_sid, "RecordingSid": recording_sid}
    call = with_sid(VOICE["inbound_call"]["params"], **ids)
    absent = with_sid(VOICE["recording_status_absent"]["params"], **ids)
    assert (await post(http, "/webhooks/twilio/voice", call)).status_code == 200
    assert (await post(http, "/webhooks/twilio/voice/recording", absent)).status_code == 200
    await settled(client, [call_sid, f"{call_sid}:recording:{recording_sid}:absent"])
    await threaded_conversation(client, store, "twilio", call_sid)  # which completes it
    found = store.find_interaction_key("twilio", call_sid)
    assert found is not None
    stored = store.get_interaction(found[0])
    assert stored is not None and stored.status == "completed"
    assert stored.content.recording_status == "absent"
    assert stored.content.audio_url is None
    assert stored.content.recording_duration_s == 0


async def test_record_action_request_is_answered_with_hangup_and_merged(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store
) -> None:
    call_sid = "CA" + secrets.token_hex(16)
    recording_sid = "RE" + secrets.token_hex(16)
    ids = {"CallSid": call_sid, "RecordingSid": recording_sid}
    assert (
        await post(http, "/webhooks/twilio/voice", with_sid(VOICE["inbound_call"]["params"], **ids))
    ).status_code == 200
    action = await post(
        http, "/webhooks/twilio/voice/recording", with_sid(VOICE["record_action"]["params"], **ids)
    )
    assert action.status_code == 200
    assert action.text == '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup /></Response>'
    await settled(client, [call_sid, f"{call_sid}:recording:{recording_sid}:action"])
    found = store.find_interaction_key("twilio", call_sid)
    assert found is not None
    stored = store.get_interaction(found[0])
    assert stored is not None and stored.content.recording_duration_s == 14


@pytest.mark.parametrize(
    ("path", "drop"),
    [
        ("/webhooks/twilio/sms/status", "MessageStatus"),
        ("/webhooks/twilio/voice", "CallSid"),
        ("/webhooks/twilio/voice/recording", "RecordingSid"),
        ("/webhooks/twilio/voice/transcription", "CallSid"),
        ("/webhooks/twilio/voice/status", "CallStatus"),
    ],
)
async def test_callbacks_missing_their_key_are_400_and_start_nothing(
    path: str, drop: str, http: httpx.AsyncClient, store: Store, client: Client, task_queue: str
) -> None:
    source = {
        "/webhooks/twilio/sms/status": STATUS["delivered"]["params"],
        "/webhooks/twilio/voice": VOICE["inbound_call"]["params"],
        "/webhooks/twilio/voice/recording": VOICE["recording_status_completed"]["params"],
        "/webhooks/twilio/voice/transcription": VOICE["transcription_callback"]["params"],
        "/webhooks/twilio/voice/status": VOICE["call_status_completed"]["params"],
    }[path]
    fields = [(k, v) for k, v in source.items() if k != drop]
    response = await post(http, path, fields)
    assert response.status_code == 400
    assert drop in response.json()["detail"]
    unsigned = await http.post(
        path, content=b"CallSid=CA1", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert unsigned.status_code == 403
    assert rows(store) == 0
    await assert_nothing_started(client, task_queue)
