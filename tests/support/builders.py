"""Builders of provider events: raw events and signed requests with the tests' own secrets."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import httpx

from runtime.simulate import (
    SignedRequest,
    inbound_parse_form,
    new_message_sid,
    sign_twilio,
    sms_fields,
)
from switchboard.contract import (
    Channel,
    Content,
    CustomerInteraction,
    Direction,
    Identity,
    IdentityKind,
    InteractionInput,
    Provider,
    RawEvent,
    Route,
    Status,
)
from switchboard.store import Store
from tests.support.fixtures import FIXTURE_PUBLIC_URL, FIXTURE_TOKEN, load_fixture

SMS_PATH = "/webhooks/twilio/sms"
STATUS_CALLBACKS = load_fixture("twilio_message_status_callbacks.json")


def sms_raw(
    sender: str = "+14155550123", body: str = "hi", message_sid: str | None = None
) -> RawEvent:
    sid = message_sid or new_message_sid()
    return RawEvent(
        provider=Provider.TWILIO,
        kind="sms",
        event_key=sid,
        received_at=datetime.now(UTC),
        url=FIXTURE_PUBLIC_URL + SMS_PATH,
        content_type="application/x-www-form-urlencoded",
        fields=sms_fields(sid, sender, "+14155550100", body),
    )


def whatsapp_raw(sender: str, body: str = "hi") -> RawEvent:
    """An inbound WhatsApp message as Twilio delivers it: on the SMS webhook, `whatsapp:`
    addresses, the WhatsApp extras beside them."""
    sid = new_message_sid()
    fields = [
        (name, f"whatsapp:{value}" if name in ("From", "To") else value)
        for name, value in sms_fields(sid, sender, "+14155550100", body)
    ]
    fields += [("ProfileName", "Amelia"), ("WaId", sender.removeprefix("+"))]
    return replace(sms_raw(sender, body, sid), fields=fields)


def sms_interaction(
    customer_id: str, sender: str, at: datetime, body: str = "hi"
) -> tuple[CustomerInteraction, RawEvent]:
    """An inbound SMS received at `at` and what the pipeline makes of it, to store directly."""
    raw = replace(sms_raw(sender=sender, body=body), received_at=at)
    interaction = CustomerInteraction(
        interaction_id=str(uuid.uuid4()),
        customer_id=customer_id,
        channel=Channel.SMS,
        direction=Direction.INBOUND,
        provider=Provider.TWILIO,
        provider_message_id=raw.event_key,
        from_address=sender,
        to_address="+14155550100",
        occurred_at=at,
        received_at=at,
        content=Content(text=body),
        status=Status.COMPLETED,
        route=Route(queue="messaging", priority=2),
    )
    return interaction, raw


def sms_input(**kwargs: str) -> InteractionInput:
    return InteractionInput(raw=sms_raw(**kwargs))


def signed_sms(
    sender: str = "+14155550123",
    body: str = "hello",
    message_sid: str | None = None,
    token: str = FIXTURE_TOKEN,
) -> tuple[str, SignedRequest]:
    sid = message_sid or new_message_sid()
    request = sign_twilio(
        FIXTURE_PUBLIC_URL + SMS_PATH, sms_fields(sid, sender, "+14155550100", body), token
    )
    return sid, request


def status_fields(sid: str, status: str) -> list[tuple[str, str]]:
    """A Twilio status callback (the recorded `delivered` one) for message `sid` at `status`."""
    base = STATUS_CALLBACKS["delivered"]["params"]
    overrides = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status}
    return [(k, overrides.get(k, v)) for k, v in base.items() if k != "RawDlrDoneDate"]


def random_phone() -> str:
    return "+1415555" + f"{secrets.randbelow(10_000):04d}"


async def post_email(
    http: httpx.AsyncClient,
    auth: tuple[str, str],
    message_id: str,
    sender: str,
    subject: str,
    text: str,
) -> None:
    """Post an Inbound Parse email (default mode) and check it was accepted."""
    body, content_type = inbound_parse_form(
        [
            ("headers", f"Message-ID: <{message_id}>\n"),
            ("from", sender),
            ("to", "support@parse.example.com"),
            ("subject", subject),
            ("text", text),
        ],
        boundary="b" + secrets.token_hex(4),
    )
    response = await http.post(
        "/webhooks/sendgrid/inbound",
        content=body,
        headers={"Content-Type": content_type},
        auth=auth,
    )
    assert response.status_code == 200, response.text


def outbound_sms(store: Store, delivery_status: str) -> CustomerInteraction:
    """An outbound SMS of a known customer, with its delivery status so far."""
    customer_id = store.resolve_customer(Identity(IdentityKind.PHONE, "+14155550142"))
    now = datetime.now(UTC)
    return CustomerInteraction(
        interaction_id=str(uuid.uuid4()),
        customer_id=customer_id,
        channel=Channel.SMS,
        direction=Direction.OUTBOUND,
        provider=Provider.TWILIO,
        provider_message_id="SM" + uuid.uuid4().hex,
        from_address="+14155550100",
        to_address="+14155550142",
        occurred_at=now,
        received_at=now,
        content=Content(text="your parcel left the depot"),
        status=Status.COMPLETED,
        route=Route(queue="messaging", priority=2),
        delivery_status=delivery_status,
    )
