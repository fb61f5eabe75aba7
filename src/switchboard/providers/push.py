"""Push events, delivered as Standard Webhooks by our push service (or a vendor relay).

The body is a JSON object `{"type": ..., "timestamp": ..., "data": {...}}`:

- `push.sent`, `push.delivered`, `push.opened`, `push.failed` (also `push.delivery.failed`)
  move the status of the outbound notification `data.notification_id`;
- `push.replied` is an inbound message: `data.reply_text` from the user.

The person is `data.user_id` (else the device token), verified by the event's signature;
`data.phone` and `data.email`, when present, are claims: kept on the interaction, never linked
to any customer (a claim of someone else's identity becomes a merge suggestion).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from switchboard.addresses import normalize_email, normalize_phone
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
from switchboard.providers.events import ProviderEvent

STATUSES = {
    "push.sent": "sent",
    "push.delivered": "delivered",
    "push.opened": "opened",
    "push.failed": "failed",
    "push.delivery.failed": "failed",
}
REPLIED = "push.replied"
EVENT_TYPES = frozenset({*STATUSES, REPLIED})


def raw_fields(webhook_id: str, timestamp: str, body: str) -> list[tuple[str, str]]:
    """How a push webhook is kept in the raw event archive: the signed parts, verbatim."""
    return [("webhook-id", webhook_id), ("webhook-timestamp", timestamp), ("body", body)]


def _occurred_at(payload: dict[str, Any], received_at: datetime) -> datetime:
    value = payload.get("timestamp")
    if not isinstance(value, str):
        return received_at
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        # Unreadable, or a time no UTC clock can hold (`9999-12-31T23:59:59-23:59`): the
        # event still happened, so it is kept at the time it arrived.
        return received_at


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    return value.strip() if isinstance(value, str) else ""


def parse(fields: Iterable[tuple[str, str]], received_at: datetime) -> ProviderEvent:
    values = dict(fields)
    try:
        payload = json.loads(values.get("body", ""))
    except json.JSONDecodeError as exc:
        raise MalformedPayload(f"body is not JSON: {exc.msg}") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        raise MalformedPayload("body must be an object with a 'data' object")
    event_type = payload.get("type")
    if event_type not in EVENT_TYPES:
        raise MalformedPayload(f"unsupported event type {event_type!r}")
    data: dict[str, Any] = payload["data"]

    user = _text(data, "user_id") or _text(data, "device_token")
    if not user:
        raise MalformedPayload("data needs a user_id or a device_token")
    linked = []
    if _text(data, "phone"):
        phone = normalize_phone(_text(data, "phone"))
        linked.append(Identity(IdentityKind.PHONE, phone, verified=False))
    if _text(data, "email"):
        address = normalize_email(_text(data, "email"))
        linked.append(Identity(IdentityKind.EMAIL, address, verified=False))
    webhook_id = values.get("webhook-id", "")
    # Values kept for display; nested structures are left in the raw event.
    payload_strings = {k: str(v) for k, v in data.items() if isinstance(v, str | int | float)}

    if event_type == REPLIED:
        key = _text(data, "reply_id") or webhook_id
        direction, status = Direction.INBOUND, None
        content = Content(text=_text(data, "reply_text") or None, push_payload=payload_strings)
    else:
        key = _text(data, "notification_id")
        if not key:
            raise MalformedPayload("data.notification_id is required for status events")
        direction, status = Direction.OUTBOUND, STATUSES[event_type]
        content = Content(push_payload=payload_strings)
    app = _text(data, "app_id") or "app"
    interaction = NormalizedInteraction(
        channel=Channel.PUSH,
        direction=direction,
        provider=Provider.PUSH,
        provider_message_id=key,
        from_address=user if direction is Direction.INBOUND else app,
        to_address=app if direction is Direction.INBOUND else user,
        occurred_at=_occurred_at(payload, received_at),
        received_at=received_at,
        content=content,
        customer_identity=Identity(IdentityKind.PUSH_USER, user),
        delivery_status=status,
        linked_identities=linked,
    )
    # webhook-id is stable across the sender's retries: the idempotency key of the event.
    return ProviderEvent(interaction, event_key=webhook_id or key)
