"""Bounds every parsed event must keep, so that a payload the store or Temporal can never take
is refused at the ingress (400 naming the field) instead of retrying forever.

The same check runs again in the normalize step, where it fails the workflow non-retryably
with the same reason (an event archived before a bound existed, or reprocessed).
"""

from __future__ import annotations

import dataclasses
import math

from switchboard.errors import MalformedPayload
from switchboard.providers.events import ProviderEvent

# The store's column widths (store/tables.py); a workflow id is the key plus a short prefix.
MAX_KEY_CHARS = 255
MAX_ADDRESS_CHARS = 320
MAX_STATUS_CHARS = 32
# Twilio sends at most 10 media per message.
MAX_TWILIO_MEDIA = 10
MAX_DURATION_S = 7 * 24 * 3600.0


def count(raw: str, name: str, maximum: int) -> int:
    """A small non-negative integer field, or `MalformedPayload` naming it.

    Only ASCII digits and a bounded length are accepted, so `inf`, `nan`, `1e9` or a
    thousand-digit number are refused before any loop or conversion depends on them.
    """
    text = raw.strip()
    if not text:
        return 0
    if not (text.isascii() and text.isdigit() and len(text) <= 6) or int(text) > maximum:
        raise MalformedPayload(f"{name} must be an integer from 0 to {maximum}")
    return int(text)


def finite(value: float, name: str, maximum: float) -> float:
    """A finite, non-negative number no larger than `maximum`, or `MalformedPayload` naming it."""
    if not math.isfinite(value) or not 0 <= value <= maximum:
        raise MalformedPayload(f"{name} must be a number from 0 to {maximum:g}")
    return value


def _length(value: str | None, name: str, maximum: int) -> None:
    if value is not None and len(value) > maximum:
        raise MalformedPayload(f"{name} longer than {maximum} characters")


def _unicode(value: object, name: str) -> None:
    """Every string encodable as UTF-8: a JSON body may escape a lone surrogate (`"\\ud800"`),
    which Python decodes but no payload converter or database driver can encode."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedPayload(f"{name} is not valid Unicode text") from None
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _unicode(getattr(value, f.name), f"{name}.{f.name}" if name else f.name)
    elif isinstance(value, list):
        for item in value:
            _unicode(item, name)
    elif isinstance(value, dict):
        for key, item in value.items():
            _unicode(key, name)
            _unicode(item, f"{name}.{key}" if str(key).isidentifier() else name)


def check(event: ProviderEvent) -> ProviderEvent:
    """`event` unchanged when it fits the store and Temporal, else `MalformedPayload`."""
    interaction = event.interaction
    _unicode(event.event_key, "event key")
    _unicode(interaction, "")
    _length(event.event_key, "event key", MAX_KEY_CHARS)
    _length(interaction.provider_message_id, "provider message id", MAX_KEY_CHARS)
    _length(interaction.from_address, "from address", MAX_ADDRESS_CHARS)
    _length(interaction.to_address, "to address", MAX_ADDRESS_CHARS)
    _length(interaction.delivery_status, "delivery status", MAX_STATUS_CHARS)
    if interaction.customer_identity is not None:
        _length(interaction.customer_identity.value, "customer address", MAX_ADDRESS_CHARS)
    content = interaction.content
    if content.recording_duration_s is not None:
        finite(content.recording_duration_s, "recording duration", MAX_DURATION_S)
    _length(content.recording_status, "recording status", MAX_STATUS_CHARS)
    return event
