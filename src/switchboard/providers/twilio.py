"""Twilio webhooks (Messaging and Voice) as typed events in the contract's terms.

Twilio adds parameters without notice, so unknown fields are kept (in the raw event) and
never rejected; only the fields the pipeline cannot do without are required.

Each webhook kind has a parser from the verified form fields to a `ProviderEvent`: the
interaction it creates or merges into, and the key of this one event. The ingress parses to
validate and to name the workflow; the normalize activity parses again from the raw event.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from switchboard.addresses import WITHHELD, Address, classify
from switchboard.contract import (
    Channel,
    Content,
    Direction,
    Identity,
    MediaRef,
    NormalizedInteraction,
    Provider,
)
from switchboard.errors import MalformedPayload
from switchboard.providers import bounds
from switchboard.providers.events import ProviderEvent

Fields = Iterable[tuple[str, str]]


@dataclass(frozen=True)
class TwilioMessage:
    """An inbound SMS, MMS or WhatsApp message (`/webhooks/twilio/sms`)."""

    message_sid: str
    sender: Address
    recipient: Address | None
    body: str | None
    media: list[MediaRef]

    @property
    def channel(self) -> Channel:
        return Channel.WHATSAPP if self.sender.whatsapp else Channel.SMS


def first_values(fields: Fields) -> dict[str, str]:
    """The first value of every field: Twilio sends each of these parameters once."""
    values: dict[str, str] = {}
    for name, value in fields:
        values.setdefault(name, value)
    return values


def _required(values: dict[str, str], name: str) -> str:
    value = values.get(name, "").strip()
    if not value:
        raise MalformedPayload(f"missing required field {name}")
    return value


def _optional_address(values: dict[str, str], name: str, *, messaging: bool) -> Address | None:
    """The classified address in `name`; None when the event does not carry one."""
    raw = values.get(name, "").strip()
    return classify(raw, messaging=messaging) if raw else None


def _text(address: Address | None) -> str:
    return "" if address is None else address.value


def _identity(address: Address | None, sid: str) -> Identity | None:
    """Who the event names: a withheld caller is a customer of this call (or message) alone."""
    if address is None:
        return None
    return Identity(address.kind, sid if address.withheld else address.value)


def _number(values: dict[str, str], name: str) -> float | None:
    raw = values.get(name, "").strip()
    if not raw:
        return None
    try:
        number = float(raw)
    except ValueError as exc:
        raise MalformedPayload(f"{name} is not a number") from exc
    return bounds.finite(number, name, bounds.MAX_DURATION_S)


def billing(values: dict[str, str]) -> dict[str, Any]:
    """What Twilio reported for billing, as `Content` fields: `NumSegments`, `CallDuration`,
    `Price` and `PriceUnit`. A value that does not parse is left out, never refused: the
    message is what matters, and the rate card prices it without."""
    found: dict[str, Any] = {}
    for field, name, maximum in (
        ("segments", "NumSegments", 1_000.0),
        ("call_duration_s", "CallDuration", bounds.MAX_DURATION_S),
        ("price", "Price", 1_000_000.0),
    ):
        try:
            number = float(values.get(name, "").strip())
        except ValueError:
            continue
        if math.isfinite(number) and abs(number) <= maximum:
            found[field] = int(number) if field == "segments" else number
    unit = values.get("PriceUnit", "").strip()
    if "price" in found and unit.isalpha() and len(unit) == 3:
        found["price_unit"] = unit.upper()
    return found


def parse_message(fields: Fields) -> TwilioMessage:
    """Parse an inbound message webhook; raise `MalformedPayload` with a readable reason."""
    values = first_values(fields)
    message_sid = _required(values, "MessageSid")
    sender = classify(_required(values, "From"), messaging=True)
    num_media = bounds.count(values.get("NumMedia", ""), "NumMedia", bounds.MAX_TWILIO_MEDIA)
    # MediaUrl{N} is 0-based; the files stay with Twilio and are referenced, never fetched here.
    media = [
        MediaRef(url=values[f"MediaUrl{n}"], content_type=values.get(f"MediaContentType{n}"))
        for n in range(num_media)
        if values.get(f"MediaUrl{n}")
    ]
    return TwilioMessage(
        message_sid=message_sid,
        sender=sender,
        recipient=_optional_address(values, "To", messaging=True),
        body=values.get("Body"),
        media=media,
    )


def _interaction(
    channel: Channel,
    direction: Direction,
    key: str,
    received_at: datetime,
    *,
    sender: Address | None = None,
    recipient: Address | None = None,
    content: Content | None = None,
    delivery_status: str | None = None,
) -> NormalizedInteraction:
    # The customer is whoever is not us: the sender of what comes in, the recipient of what
    # goes out. Events that name neither (a recording) join the interaction already stored.
    customer = sender if direction is Direction.INBOUND else recipient
    return NormalizedInteraction(
        channel=channel,
        direction=direction,
        provider=Provider.TWILIO,
        provider_message_id=key,
        from_address=_text(sender),
        to_address=_text(recipient),
        # Twilio's webhooks carry no event time: they are sent as things happen, so the moment
        # we accepted one is the best record of when it occurred.
        occurred_at=received_at,
        received_at=received_at,
        content=content or Content(),
        customer_identity=_identity(customer, key),
        delivery_status=delivery_status,
    )


def sms(fields: Fields, received_at: datetime) -> ProviderEvent:
    message = parse_message(fields)
    interaction = _interaction(
        message.channel,
        Direction.INBOUND,
        message.message_sid,
        received_at,
        sender=message.sender,
        recipient=message.recipient,
        content=Content(text=message.body, media=message.media, **billing(first_values(fields))),
    )
    return ProviderEvent(interaction, event_key=message.message_sid)


def sms_status(fields: Fields, received_at: datetime) -> ProviderEvent:
    """A delivery status of an outbound message; one event per (MessageSid, MessageStatus)."""
    values = first_values(fields)
    sid = _required(values, "MessageSid")
    status = _required(values, "MessageStatus").lower()
    sender = _optional_address(values, "From", messaging=True)
    recipient = _optional_address(values, "To", messaging=True)
    whatsapp = values.get("ChannelPrefix", "").lower() == "whatsapp" or any(
        a is not None and a.whatsapp for a in (sender, recipient)
    )
    interaction = _interaction(
        Channel.WHATSAPP if whatsapp else Channel.SMS,
        Direction.OUTBOUND,
        sid,
        received_at,
        sender=sender,
        recipient=recipient,
        content=Content(**billing(values)),
        delivery_status=status,
    )
    return ProviderEvent(interaction, event_key=f"{sid}:status:{status}")


def _call_direction(values: dict[str, str]) -> Direction:
    return (
        Direction.OUTBOUND
        if values.get("Direction", "").startswith("outbound")
        else (Direction.INBOUND)
    )


def _call_parties(values: dict[str, str]) -> tuple[Address | None, Address | None]:
    """A call's `From` and `To`, classified (an absent one is None)."""
    return (
        _optional_address(values, "From", messaging=False),
        _optional_address(values, "To", messaging=False),
    )


def _attestation(values: dict[str, str]) -> str | None:
    return values.get("StirVerstat", "").strip() or None


def voice(fields: Fields, received_at: datetime) -> ProviderEvent:
    """An incoming call: the interaction of the call, keyed by CallSid.

    The call is answered whoever calls: a caller with no caller ID (or none we can read) is
    withheld, a customer of this call alone.
    """
    values = first_values(fields)
    sid = _required(values, "CallSid")
    caller, called = _call_parties(values)
    interaction = _interaction(
        Channel.VOICE,
        _call_direction(values),
        sid,
        received_at,
        sender=caller or WITHHELD,
        recipient=called,
        content=Content(caller_attestation=_attestation(values)),
        delivery_status=values.get("CallStatus", "").lower() or None,
    )
    return ProviderEvent(interaction, event_key=sid)


def voice_recording(fields: Fields, received_at: datetime) -> ProviderEvent:
    """A recording status callback, or the <Record> action request (which has no status)."""
    values = first_values(fields)
    sid = _required(values, "CallSid")
    recording_sid = _required(values, "RecordingSid")
    status = values.get("RecordingStatus", "").lower()
    absent = status == "absent"
    content = Content(
        audio_url=None if absent else values.get("RecordingUrl") or None,
        recording_duration_s=_number(values, "RecordingDuration"),
        recording_status=status or "completed",
    )
    interaction = _interaction(Channel.VOICE, Direction.INBOUND, sid, received_at, content=content)
    return ProviderEvent(
        interaction, event_key=f"{sid}:recording:{recording_sid}:{status or 'action'}"
    )


def voice_transcription(fields: Fields, received_at: datetime) -> ProviderEvent:
    values = first_values(fields)
    sid = _required(values, "CallSid")
    transcription_sid = values.get("TranscriptionSid") or _required(values, "RecordingSid")
    status = values.get("TranscriptionStatus", "").lower()
    text = values.get("TranscriptionText") if status in ("", "completed") else None
    caller, called = _call_parties(values)
    interaction = _interaction(
        Channel.VOICE,
        _call_direction(values),
        sid,
        received_at,
        sender=caller,
        recipient=called,
        content=Content(transcript=text or None),
    )
    return ProviderEvent(interaction, event_key=f"{sid}:transcription:{transcription_sid}")


def voice_status(fields: Fields, received_at: datetime) -> ProviderEvent:
    values = first_values(fields)
    sid = _required(values, "CallSid")
    status = _required(values, "CallStatus").lower()
    caller, called = _call_parties(values)
    interaction = _interaction(
        Channel.VOICE,
        _call_direction(values),
        sid,
        received_at,
        sender=caller,
        recipient=called,
        content=Content(caller_attestation=_attestation(values), **billing(values)),
        delivery_status=status,
    )
    return ProviderEvent(interaction, event_key=f"{sid}:status:{status}")
