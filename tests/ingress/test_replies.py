"""Agent replies go out through the real twilio and sendgrid clients and merge their callbacks."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import secrets
import time
import uuid
from collections.abc import Sequence
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.converter import DataConverter, PayloadCodec
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from runtime.simulate import (
    public_key_b64,
    sendgrid_event_batch,
    sign_sendgrid_events,
    sign_twilio,
)
from switchboard.contract import (
    REPLY,
    THREAD,
    ReplyInput,
    conversation_workflow_id,
    interaction_workflow_id,
)
from switchboard.converter import PAYLOAD_REFUSED
from switchboard.settings import IngressSettings
from switchboard.store import Store
from tests.support.builders import post_email, random_phone, sms_input
from tests.support.fixtures import FIXTURE_PUBLIC_URL, FIXTURE_TOKEN
from tests.support.pipeline import threaded_conversation
from tests.support.provider_double import INVALID_NUMBER, ProviderDouble
from tests.support.replies import ACCOUNT, OUR_NUMBER, converse_by_sms
from tests.support.settings import ingress_settings

USER, PASSWORD = "parse", secrets.token_urlsafe(12)
EVENT_KEY = ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def settings(task_queue: str, tmp_path: Any) -> IngressSettings:
    return ingress_settings(
        task_queue,
        sendgrid_inbound_user=USER,
        sendgrid_inbound_password=PASSWORD,
        sendgrid_event_public_key=public_key_b64(EVENT_KEY),
        data_dir=tmp_path / "data",
    )


@pytest.fixture
async def worker(replying: Worker) -> Worker:
    return replying


async def test_sms_reply_goes_through_twilio_and_its_status_merges_back(
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
    double: ProviderDouble,
    auth: dict[str, str],
) -> None:
    phone = random_phone()
    conversation_id = await converse_by_sms(http, client, store, phone)
    replied = await http.post(
        f"/api/conversations/{conversation_id}/reply",
        json={"text": "It ships today."},
        headers=auth,
    )
    assert replied.status_code == 200, replied.text
    body = replied.json()
    assert body["first_response_at"] is not None
    assert [e["kind"] for e in body["events"]][-2:] == ["first_response", "interaction"]

    [sent] = double.requests
    assert sent.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert sent.form() == {
        "To": phone,
        "From": OUR_NUMBER,
        "Body": "It ships today.",
        "StatusCallback": FIXTURE_PUBLIC_URL + "/webhooks/twilio/sms/status",
    }
    expected_auth = base64.b64encode(f"{ACCOUNT}:{FIXTURE_TOKEN}".encode()).decode()
    assert sent.headers["authorization"] == f"Basic {expected_auth}"

    outbound_id = body["interaction_ids"][-1]
    outbound = store.get_interaction(outbound_id)
    assert outbound is not None
    assert outbound.direction == "outbound" and outbound.conversation_id == conversation_id
    status = sign_twilio(
        FIXTURE_PUBLIC_URL + "/webhooks/twilio/sms/status",
        [
            ("MessageSid", outbound.provider_message_id),
            ("MessageStatus", "delivered"),
            ("From", OUR_NUMBER),
            ("To", phone),
        ],
        FIXTURE_TOKEN,
    )
    response = await http.post(
        "/webhooks/twilio/sms/status", content=status.body, headers=status.headers
    )
    assert response.status_code == 200
    await client.get_workflow_handle(
        interaction_workflow_id("twilio", f"{outbound.provider_message_id}:status:delivered")
    ).result()
    merged = store.get_interaction(outbound_id)
    assert merged is not None and merged.delivery_status == "delivered"
    assert merged.conversation_id == conversation_id


async def test_email_reply_goes_through_sendgrid_and_its_events_merge_back(
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
    double: ProviderDouble,
    auth: dict[str, str],
) -> None:
    email, message_id = f"kim.{secrets.token_hex(3)}@example.com", f"{secrets.token_hex(6)}@mail"
    await post_email(http, (USER, PASSWORD), message_id, f"Kim <{email}>", "Refund", "news?")
    conversation_id = await threaded_conversation(client, store, "sendgrid", message_id)
    replied = await http.post(
        f"/api/conversations/{conversation_id}/reply",
        json={"text": "Refund sent."},
        headers=auth,
    )
    assert replied.status_code == 200, replied.text
    [sent] = double.requests
    mail = sent.json()
    assert sent.path == "/v3/mail/send"
    assert mail["personalizations"][0]["to"] == [{"email": email}]
    assert mail["subject"] == "Re: Refund"
    assert mail["from"] == {"email": "support@example.com"}
    assert mail["content"] == [{"type": "text/plain", "value": "Refund sent."}]

    outbound = store.get_interaction(replied.json()["interaction_ids"][-1])
    assert outbound is not None and outbound.channel == "email"
    event = {
        "email": email,
        "timestamp": 1_764_000_000,
        "event": "delivered",
        "sg_event_id": secrets.token_urlsafe(12),
        "sg_message_id": f"{outbound.provider_message_id}.filterdrecv-1.0",
    }
    batch = sendgrid_event_batch([event])
    headers = sign_sendgrid_events(EVENT_KEY, batch, int(time.time()))
    assert (
        await http.post("/webhooks/sendgrid/events", content=batch, headers=headers)
    ).status_code == 204
    await client.get_workflow_handle(
        interaction_workflow_id("sendgrid", event["sg_event_id"])
    ).result()
    merged = store.get_interaction(outbound.interaction_id)
    assert merged is not None and merged.delivery_status == "delivered"


async def test_a_refused_reply_is_502_with_the_providers_reason_and_nothing_is_sent_twice(
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
    double: ProviderDouble,
    auth: dict[str, str],
) -> None:
    conversation_id = await converse_by_sms(http, client, store, INVALID_NUMBER)
    replied = await http.post(
        f"/api/conversations/{conversation_id}/reply", json={"text": "hi"}, headers=auth
    )
    assert replied.status_code == 502
    assert "21211" in replied.json()["detail"]
    assert len(double.requests) == 1  # a permanent refusal is not retried
    detail = await http.get(f"/api/conversations/{conversation_id}", headers=auth)
    assert detail.json()["first_response_at"] is None
    empty = await http.post(
        f"/api/conversations/{conversation_id}/reply", json={"text": ""}, headers=auth
    )
    assert empty.status_code == 422


async def test_a_forged_thread_signal_cannot_redirect_the_next_reply(
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
    double: ProviderDouble,
    auth: dict[str, str],
) -> None:
    phone, other_phone, attacker = random_phone(), random_phone(), "+19995550666"
    conversation_id = await converse_by_sms(http, client, store, phone)
    other = (
        await http.get(
            f"/api/conversations/{await converse_by_sms(http, client, store, other_phone)}",
            headers=auth,
        )
    ).json()
    mine = (await http.get(f"/api/conversations/{conversation_id}", headers=auth)).json()
    customer_id = mine["customer_id"]

    # Whoever can signal names an interaction that does not exist, with their own address, and
    # another customer's real interaction: the store knows neither as this customer's.
    conversation = client.get_workflow_handle(conversation_workflow_id(customer_id))
    for interaction_id in (str(uuid.uuid4()), other["interaction_ids"][0]):
        # The shape the signal had when it carried the facts: the conversation reads the id.
        await conversation.signal(
            THREAD,
            {
                "interaction_id": interaction_id,
                "customer_id": customer_id,
                "channel": "sms",
                "direction": "inbound",
                "from_address": attacker,
                "route": {"queue": "default", "priority": 0},
            },
        )
    await asyncio.sleep(1)  # the conversation handles the signals

    replied = await http.post(
        f"/api/conversations/{conversation_id}/reply", json={"text": "On its way."}, headers=auth
    )
    assert replied.status_code == 200, replied.text
    assert double.requests[-1].form()["To"] == phone
    assert attacker not in {r.form().get("To") for r in double.requests}
    assert replied.json()["interaction_ids"] == [*mine["interaction_ids"], ANY]


class ForgedSeal(PayloadCodec):
    """Marks payloads as sealed by the tests' key without having it."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload(
                metadata={"encoding": b"binary/encrypted", "encryption-key-id": b"test-a"},
                data=secrets.token_bytes(12) + p.SerializeToString(),
            )
            for p in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)


async def test_a_client_without_the_payload_keys_can_neither_reply_signal_nor_start(
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
    double: ProviderDouble,
    auth: dict[str, str],
    task_queue: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    phone = random_phone()
    conversation_id = await converse_by_sms(http, client, store, phone)
    customer_id = (await http.get(f"/api/conversations/{conversation_id}", headers=auth)).json()[
        "customer_id"
    ]
    # Anyone who reaches Temporal's frontend, with a plain SDK client and no payload keys.
    stranger = Client(client.service_client, namespace=client.namespace)
    conversation = stranger.get_workflow_handle(conversation_workflow_id(customer_id))

    with pytest.raises(WorkflowUpdateFailedError):
        await conversation.execute_update(REPLY, ReplyInput("Pay here: evil.example", "mallory"))
    # Dressed as sealed, under the key id any history shows: refused the same way, and the
    # conversation is not left failing its workflow tasks on a payload it cannot open.
    forger = Client(
        client.service_client,
        namespace=client.namespace,
        data_converter=dataclasses.replace(DataConverter.default, payload_codec=ForgedSeal()),
    )
    with pytest.raises(WorkflowUpdateFailedError):
        await forger.get_workflow_handle(conversation.id).execute_update(
            REPLY, ReplyInput("Pay here: evil.example", "mallory")
        )
    assert double.requests == [], "the stranger's reply went out"

    await conversation.signal(
        THREAD, {"interaction_id": str(uuid.uuid4()), "from_address": "+19995550666"}
    )
    # No payload at all, so nothing for the codec to refuse: dropped all the same, rather
    # than failing the conversation's workflow tasks over and over.
    await conversation.signal(THREAD)
    # The conversation's state is sealed: the stranger cannot read it either.
    with pytest.raises(Exception, match="encrypted"):
        await conversation.query("current")

    # The agent's own reply still goes out, after the stranger's signal was dropped.
    replied = await http.post(
        f"/api/conversations/{conversation_id}/reply", json={"text": "On its way."}, headers=auth
    )
    assert replied.status_code == 200, replied.text
    assert [r.form()["To"] for r in double.requests] == [phone]
    assert "mallory" not in {e["actor"] for e in replied.json()["events"]}
    dropped = [r for r in caplog.records if "dropping the signal" in r.getMessage()]
    assert dropped, "the stranger's signal was not refused"
    refusal = dropped[0].exc_info[1] if dropped[0].exc_info else None
    assert isinstance(refusal, ApplicationError) and refusal.type == PAYLOAD_REFUSED

    # A start: its workflow fails at once, without a step (no activity, nothing stored).
    inp = sms_input(sender=random_phone(), body="injected")
    started = await stranger.start_workflow(
        "InteractionWorkflow",
        inp,
        id=interaction_workflow_id("twilio", inp.raw.event_key),
        task_queue=task_queue,
    )
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(started.result(), 30)
    events = [e async for e in started.fetch_history_events()]
    assert not any(e.HasField("activity_task_scheduled_event_attributes") for e in events)
    assert not any(e.HasField("marker_recorded_event_attributes") for e in events)
    assert store.find_interaction_key("twilio", inp.raw.event_key) is None
    # Nor does a start without any input take a step.
    bare = await stranger.start_workflow(
        "InteractionWorkflow", id=f"interaction:twilio:SM{uuid.uuid4().hex}", task_queue=task_queue
    )
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(bare.result(), 30)
