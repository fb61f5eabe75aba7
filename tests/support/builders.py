"""Builders of provider events: raw events and signed requests with the tests' own secrets."""

from __future__ import annotations

import email.utils
import json
import secrets
import uuid
from collections.abc import Sequence
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
VOICE_PATH = "/webhooks/twilio/voice"
RECORDING_PATH = "/webhooks/twilio/voice/recording"
INBOUND_PATH = "/webhooks/sendgrid/inbound"
VOICE = load_fixture("twilio_voice.json")
# The account of `sms_fields`: the Twilio double serves and deletes its files.
ACCOUNT_SID = "AC" + "0" * 32
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


def email_form(
    message_id: str,
    sender: str,
    subject: str,
    text: str,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    spf: str = "pass",
    dkim: str | None = None,
    envelope: str | None = None,
) -> tuple[bytes, str]:
    """An Inbound Parse post (default mode) with files (name, content type, bytes).

    SendGrid's verdicts as posted for mail its sender's domain authorizes (`SPF: pass`, the
    envelope sender the From), unless `spf`, `dkim` and `envelope` say otherwise."""
    address = email.utils.parseaddr(sender)[1]
    if envelope is None:
        envelope = json.dumps({"to": ["support@parse.example.com"], "from": address})
    boundary = "b" + secrets.token_hex(4)
    body, content_type = inbound_parse_form(
        [
            ("headers", f"Message-ID: <{message_id}>\n"),
            ("from", sender),
            ("to", "support@parse.example.com"),
            ("subject", subject),
            ("text", text),
            ("SPF", spf),
            ("dkim", dkim if dkim is not None else "none"),
            ("envelope", envelope),
            ("attachments", str(len(attachments))),
        ],
        boundary=boundary,
    )
    files = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="attachment{n}"; '
        f'filename="{name}"\r\nContent-Type: {kind}\r\n\r\n'.encode()
        + data
        + b"\r\n"
        for n, (name, kind, data) in enumerate(attachments, start=1)
    )
    closing = f"--{boundary}--\r\n".encode()
    return body.removesuffix(closing) + files + closing, content_type


async def post_email(
    http: httpx.AsyncClient,
    auth: tuple[str, str],
    message_id: str,
    sender: str,
    subject: str,
    text: str,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    spf: str = "pass",
    dkim: str | None = None,
    envelope: str | None = None,
) -> httpx.Response:
    """Post an Inbound Parse email (default mode) and check it was accepted."""
    body, content_type = email_form(
        message_id, sender, subject, text, attachments, spf, dkim, envelope
    )
    response = await http.post(
        INBOUND_PATH, content=body, headers={"Content-Type": content_type}, auth=auth
    )
    assert response.status_code == 200, response.text
    return response


def twilio_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def media_path(message_sid: str) -> str:
    """The API path of a new Media resource of a message of `ACCOUNT_SID`."""
    return f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message_sid}/Media/{twilio_sid('ME')}"


def recording_path() -> str:
    return f"/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{twilio_sid('RE')}"


def signed_twilio(path: str, fields: list[tuple[str, str]]) -> SignedRequest:
    return sign_twilio(FIXTURE_PUBLIC_URL + path, fields, FIXTURE_TOKEN)


def mms_fields(
    message_sid: str, sender: str, body: str, media: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """An inbound MMS: `media` as (API path, content type), named by Twilio's API URLs."""
    fields = [
        (k, str(len(media)) if k == "NumMedia" else v)
        for k, v in sms_fields(message_sid, sender, "+14155550100", body)
    ]
    for n, (path, content_type) in enumerate(media):
        fields += [
            (f"MediaContentType{n}", content_type),
            (f"MediaUrl{n}", "https://api.twilio.com" + path),
        ]
    return fields


def call_fields(call_sid: str, caller: str) -> list[tuple[str, str]]:
    """An incoming call (the recorded one) from `caller`."""
    overrides = {"CallSid": call_sid, "From": caller, "Caller": caller, "AccountSid": ACCOUNT_SID}
    return [(k, overrides.get(k, v)) for k, v in VOICE["inbound_call"]["params"].items()]


def recording_fields(call_sid: str, path: str) -> list[tuple[str, str]]:
    """The recording status callback (completed) of the call's voicemail at API `path`."""
    overrides = {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT_SID,
        "RecordingSid": path.rsplit("/", 1)[1],
        "RecordingUrl": "https://api.twilio.com" + path,
    }
    params = VOICE["recording_status_completed"]["params"]
    return [(k, overrides.get(k, v)) for k, v in params.items()]


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
