"""SendGrid webhooks: Event Webhook batches (and, below, Inbound Parse email).

Event Webhook: the body is a JSON array of events. Each event is one provider event keyed by
`sg_event_id`; delivery and engagement events (processed, delivered, bounce, dropped, open,
click, …) update the outbound email they refer to, keyed by the message id SendGrid returned
when it was sent (`sg_message_id` up to its first dot). An event for a message we do not know
creates the interaction, so it is kept, not lost.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from switchboard.addresses import normalize_email
from switchboard.contract import (
    Channel,
    Content,
    Direction,
    Identity,
    IdentityKind,
    NormalizedInteraction,
    Provider,
)
from switchboard.errors import MalformedPayload
from switchboard.providers import bounds
from switchboard.providers.events import ProviderEvent

# The latest unix time a datetime holds (9999-12-31).
MAX_TIMESTAMP = 253402300799.0


def split_events(body: str) -> list[dict[str, Any]]:
    """The events of a verified batch; `MalformedPayload` unless it is an array of objects."""
    try:
        events = json.loads(body)
    except json.JSONDecodeError as exc:
        raise MalformedPayload(f"body is not JSON: {exc.msg}") from exc
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise MalformedPayload("body must be a JSON array of event objects")
    return events


def event_fields(event: dict[str, Any]) -> list[tuple[str, str]]:
    """How one event of a batch is kept in the raw event archive."""
    return [("event", json.dumps(event, ensure_ascii=False, sort_keys=True))]


def event_key(event: dict[str, Any]) -> str:
    """`sg_event_id`, stable across SendGrid's retries; a content hash if it is missing."""
    key = event.get("sg_event_id")
    if isinstance(key, str) and key:
        return key
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
    return "sha256-" + hashlib.sha256(canonical).hexdigest()[:32]


def message_key(event: dict[str, Any]) -> str:
    """The outbound email an event refers to.

    `sg_message_id` is the send API's `X-Message-Id` plus a suffix from the first dot on; an
    asynchronous bounce has none, and falls back to its SMTP id.
    """
    sg_message_id = event.get("sg_message_id")
    if isinstance(sg_message_id, str) and sg_message_id:
        return sg_message_id.split(".", 1)[0]
    smtp_id = event.get("smtp-id")
    if isinstance(smtp_id, str) and smtp_id.strip("<> "):
        return smtp_id.strip("<> ")
    return event_key(event)


def parse_event(fields: Iterable[tuple[str, str]], received_at: datetime) -> ProviderEvent:
    values = dict(fields)
    try:
        event = json.loads(values.get("event", ""))
    except json.JSONDecodeError as exc:
        raise MalformedPayload(f"event is not JSON: {exc.msg}") from exc
    if not isinstance(event, dict):
        raise MalformedPayload("an event must be a JSON object")
    name = event.get("event")
    email = event.get("email")
    if not isinstance(name, str) or not name:
        raise MalformedPayload("event without an 'event' name")
    if not isinstance(email, str):
        raise MalformedPayload("event without an 'email'")
    recipient = normalize_email(email)
    timestamp = event.get("timestamp")
    occurred_at = (
        datetime.fromtimestamp(bounds.finite(timestamp, "timestamp", MAX_TIMESTAMP), UTC)
        if isinstance(timestamp, int | float) and not isinstance(timestamp, bool)
        else received_at
    )
    interaction = NormalizedInteraction(
        channel=Channel.EMAIL,
        direction=Direction.OUTBOUND,
        provider=Provider.SENDGRID,
        provider_message_id=message_key(event),
        from_address="",
        to_address=recipient,
        occurred_at=occurred_at,
        received_at=received_at,
        content=Content(),
        customer_identity=Identity(IdentityKind.EMAIL, recipient),
        delivery_status=name.lower(),
    )
    return ProviderEvent(interaction, event_key=event_key(event))
