"""Twilio Messaging webhooks as typed events.

Twilio adds parameters without notice, so unknown fields are kept (in the raw event) and
never rejected; only the fields the pipeline cannot do without are required.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from switchboard.addresses import normalize_phone
from switchboard.contract import MediaRef
from switchboard.errors import MalformedPayload


@dataclass(frozen=True)
class TwilioMessage:
    """An inbound SMS or MMS (`/webhooks/twilio/sms`)."""

    message_sid: str
    from_address: str
    to_address: str
    body: str | None
    media: list[MediaRef]


def first_values(fields: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The first value of every field: Twilio sends each message parameter once."""
    values: dict[str, str] = {}
    for name, value in fields:
        values.setdefault(name, value)
    return values


def _required(values: dict[str, str], name: str) -> str:
    value = values.get(name, "").strip()
    if not value:
        raise MalformedPayload(f"missing required field {name}")
    return value


def parse_message(fields: Iterable[tuple[str, str]]) -> TwilioMessage:
    """Parse an inbound message webhook; raise `MalformedPayload` with a readable reason."""
    values = first_values(fields)
    message_sid = _required(values, "MessageSid")
    from_address = normalize_phone(_required(values, "From"))
    to_raw = values.get("To", "").strip()
    to_address = normalize_phone(to_raw) if to_raw else ""
    try:
        num_media = int(values.get("NumMedia") or "0")
    except ValueError as exc:
        raise MalformedPayload(f"NumMedia is not a number: {values['NumMedia']!r}") from exc
    # MediaUrl{N} is 0-based; the files stay with Twilio and are referenced, never fetched here.
    media = [
        MediaRef(url=values[f"MediaUrl{n}"], content_type=values.get(f"MediaContentType{n}"))
        for n in range(num_media)
        if values.get(f"MediaUrl{n}")
    ]
    return TwilioMessage(
        message_sid=message_sid,
        from_address=from_address,
        to_address=to_address,
        body=values.get("Body"),
        media=media,
    )
