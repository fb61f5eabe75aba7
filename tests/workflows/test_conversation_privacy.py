"""A conversation's history holds ids, never what the customer wrote or where from.

Real traffic (SMS, and an email with a subject) through the real ingress, worker and Temporal
dev server; every payload of the conversations' histories opened with the payload keys, then
searched for the messages' addresses, subject and text.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.worker import Worker

from switchboard.codec import ENCODING
from switchboard.contract import conversation_workflow_id
from switchboard.settings import IngressSettings
from switchboard.store import Store
from tests.support.builders import SMS_PATH, post_email, random_phone, signed_sms
from tests.support.keys import DATA_CONVERTER
from tests.support.pipeline import interaction_result, threaded_conversation
from tests.support.settings import ingress_settings

PARSE = ("parse", secrets.token_urlsafe(12))


@pytest.fixture
def settings(task_queue: str, tmp_path: Path) -> IngressSettings:
    return ingress_settings(
        task_queue,
        data_dir=tmp_path / "data",
        sendgrid_inbound_user=PARSE[0],
        sendgrid_inbound_password=PARSE[1],
    )


def _payloads(message: Message) -> Iterator[Payload]:
    """Every payload anywhere in a history event (inputs, results, signals, updates, markers,
    headers, memos, search attributes)."""
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            values = value.values()
        elif field.is_repeated:
            values = value
        else:
            values = [value]
        for item in values:
            if isinstance(item, Message):
                yield from _payloads(item)


async def _opened_history(client: Client, workflow_id: str) -> tuple[str, list[bytes]]:
    """The history as JSON (its text in clear), and every payload opened with the keys."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    sealed = [p for event in history.events for p in _payloads(event)]
    assert any(p.metadata.get("encoding") == ENCODING for p in sealed)
    codec = DATA_CONVERTER.payload_codec
    assert codec is not None
    opened = []
    for payload in sealed:
        if payload.metadata.get("encoding") == ENCODING:
            (payload,) = await codec.decode([payload])
        opened.append(payload.data + b"".join(payload.metadata.values()))
    return history.to_json(), opened


async def test_a_conversations_history_holds_no_address_subject_or_text(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store
) -> None:
    phone = random_phone()
    mailer = f"ana.{secrets.token_hex(4)}@example.com"
    subject = f"Refund for order {secrets.token_hex(3)}"
    texts = [
        f"my card {secrets.token_hex(3)} was stolen",
        f"please block it {secrets.token_hex(3)}",
    ]
    email_text = f"I was charged twice, ref {secrets.token_hex(4)}"

    sids = []
    for text in texts:
        sid, request = signed_sms(sender=phone, body=text)
        response = await http.post(SMS_PATH, content=request.body, headers=request.headers)
        assert response.is_success, response.text
        sids.append(sid)
    message_id = f"{secrets.token_hex(8)}@mail.example.com"
    await post_email(http, PARSE, message_id, f"Ana <{mailer}>", subject, email_text)

    events = [("twilio", sid) for sid in sids] + [("sendgrid", message_id)]
    conversations = {await threaded_conversation(client, store, *event) for event in events}
    assert len(conversations) == 2  # the phone's and the mailer's
    customers = {(await interaction_result(client, *event)).customer_id for event in events}

    needles = [phone, phone.removeprefix("+"), mailer, subject, email_text, *texts]
    for customer_id in customers:
        text, payloads = await _opened_history(client, conversation_workflow_id(customer_id))
        for needle in needles:
            assert needle not in text, f"{needle!r} in the history's clear text"
            found = [p for p in payloads if needle.encode() in p]
            assert not found, f"{needle!r} in a payload of the conversation's history: {found}"
