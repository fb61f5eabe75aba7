"""Events out, as they are emitted: written in the transaction of the change they describe.

Nothing here sends anything. The store writes an event row beside the interaction or the
conversation change it describes (a transactional outbox), and the worker's relay starts a
delivery workflow per subscription for each row (`events_out.relay`). Events are written only
while some subscription exists, so a deployment without subscribers pays one indexed read.

Event ids are derived from what happened, never random: a redelivered webhook, a retried
activity or a replayed workflow writes the same event once, and receivers see the same
`webhook-id` across retries and replays.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from switchboard.contract import (
    ConversationEvent,
    ConversationState,
    Direction,
    EventKind,
    EventType,
)
from switchboard.store.engine import upsert
from switchboard.store.tables import interactions, outbound_events, subscriptions

_NAMESPACE = uuid.UUID("6f1c1a52-2b8e-4a57-9d43-3f1d5b0e7c21")

_CONVERSATION_TYPES = {
    EventKind.OPENED: EventType.CONVERSATION_OPENED,
    EventKind.ASSIGNED: EventType.CONVERSATION_ASSIGNED,
    EventKind.RESOLVED: EventType.CONVERSATION_RESOLVED,
    EventKind.AUTO_RESOLVED: EventType.CONVERSATION_RESOLVED,
    EventKind.REOPENED: EventType.CONVERSATION_REOPENED,
    EventKind.SLA_BREACHED: EventType.SLA_BREACHED,
    EventKind.TRANSFERRED: EventType.CONVERSATION_TRANSFERRED,
    EventKind.LABELED: EventType.CONVERSATION_LABELED,
    EventKind.CSAT: EventType.CONVERSATION_RATED,
}
# Event detail subscribers do not get: the customer's own words (a CSAT comment).
_PRIVATE_DETAIL = frozenset({"interaction_id", "comment"})


def _event_id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, ":".join(parts)))


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def has_subscriptions(conn: Connection) -> bool:
    return conn.execute(select(subscriptions.c.subscription_id).limit(1)).first() is not None


def interaction_data(row: Mapping[str, Any]) -> dict[str, Any]:
    """What an interaction event says about the interaction (ids, channel, statuses, times)."""
    return {
        "interaction_id": row["interaction_id"],
        "provider_message_id": row["provider_message_id"],
        "customer_id": row["customer_id"],
        "conversation_id": row["conversation_id"],
        "channel": str(row["channel"]),
        "direction": str(row["direction"]),
        "provider": str(row["provider"]),
        "queue": row["route_queue"],
        "priority": row["route_priority"],
        "status": str(row["status"]),
        "delivery_status": row["delivery_status"],
        "occurred_at": _iso(row["occurred_at"]),
        "received_at": _iso(row["received_at"]),
        "persisted_at": _iso(row["persisted_at"]),
        "sla_due_at": _iso(row["sla_due_at"]),
        "identity_verified": bool(row.get("identity_verified", True)),
    }


def interaction_persisted(conn: Connection, row: Mapping[str, Any]) -> None:
    """`interaction.persisted` for a newly stored interaction (its row as committed)."""
    if not has_subscriptions(conn):
        return
    data = interaction_data(row)
    _append(
        conn,
        _event_id(EventType.INTERACTION_PERSISTED, row["interaction_id"]),
        EventType.INTERACTION_PERSISTED,
        row["persisted_at"],
        data,
    )


def interaction_status_changed(
    conn: Connection, before: Mapping[str, Any], after: Mapping[str, Any], at: datetime
) -> None:
    """`interaction.status_changed` when a merge moved the status or the delivery status."""
    old = (str(before["status"]), before["delivery_status"])
    new = (str(after["status"]), after["delivery_status"])
    if old == new or not has_subscriptions(conn):
        return
    data = {
        **interaction_data(after),
        "previous_status": old[0],
        "previous_delivery_status": old[1],
    }
    event_id = _event_id(
        EventType.INTERACTION_STATUS_CHANGED, after["interaction_id"], new[0], str(new[1])
    )
    _append(conn, event_id, EventType.INTERACTION_STATUS_CHANGED, at, data)


def conversation_changed(
    conn: Connection,
    customer_id: str,
    state: ConversationState,
    events: Sequence[ConversationEvent],
) -> None:
    """The conversation events subscribers can receive, for one recorded batch of changes."""
    if not events or not has_subscriptions(conn):
        return
    interaction_ids = [
        e.detail["interaction_id"] for e in events if e.kind is EventKind.INTERACTION
    ]
    provider_ids = dict(
        conn.execute(
            select(interactions.c.interaction_id, interactions.c.provider_message_id).where(
                interactions.c.interaction_id.in_(interaction_ids)
            )
        ).all()
    )
    for i, event in enumerate(events):
        kind = EventKind(event.kind)
        if kind is EventKind.INTERACTION:
            if event.detail.get("direction") != Direction.OUTBOUND:
                continue
            event_type = EventType.CONVERSATION_REPLIED
            interaction_id: str | None = event.detail["interaction_id"]
        elif kind in _CONVERSATION_TYPES:
            event_type = _CONVERSATION_TYPES[kind]
            # The interaction that opened (or reopened) it is the one threaded next.
            interaction_id = _next_interaction(events[i + 1 :])
        else:
            continue
        data = {
            "interaction_id": interaction_id,
            "provider_message_id": provider_ids.get(interaction_id or ""),
            "customer_id": customer_id,
            "conversation_id": event.conversation_id,
            "sequence": event.seq,
            "conversation_status": state.status,
            "queue": state.queue,
            "priority": state.priority,
            "assignee": state.assignee,
            "opened_at": _iso(state.opened_at),
            "first_response_due_at": _iso(state.first_response_due_at),
            "first_response_at": _iso(state.first_response_at),
            "resolved_at": _iso(state.resolved_at),
            "labels": state.labels,
            "disposition": state.disposition,
            "csat_score": state.csat_score,
            "detail": {k: v for k, v in event.detail.items() if k not in _PRIVATE_DETAIL},
        }
        _append(conn, event.event_id, event_type, event.at, data, event.seq)


def subscription_disabled(
    conn: Connection,
    subscription_id: str,
    reason: str,
    at: datetime,
    failing_since: datetime | None,
) -> None:
    """`subscription.disabled`, for the subscriptions still enabled: which one, why, since when
    its deliveries failed. Never its URL (its path or query may hold the receiver's token)."""
    data = {
        "subscription_id": subscription_id,
        "reason": reason,
        "disabled_at": _iso(at),
        "failing_since": _iso(failing_since),
    }
    event_id = _event_id(EventType.SUBSCRIPTION_DISABLED, subscription_id, _iso(at) or "")
    _append(conn, event_id, EventType.SUBSCRIPTION_DISABLED, at, data)


def customer_changed(
    conn: Connection, event_type: EventType, what: str, at: datetime, data: dict[str, Any]
) -> None:
    """`customer.merged` or `customer.split`: ids and counts only; `what` names the change
    (a repeat of the same change is the same event)."""
    if not has_subscriptions(conn):
        return
    _append(conn, _event_id(event_type, what), event_type, at, data)


def _next_interaction(events: Iterable[ConversationEvent]) -> str | None:
    for event in events:
        if event.kind is EventKind.INTERACTION:
            return str(event.detail["interaction_id"])
    return None


def _append(
    conn: Connection,
    event_id: str,
    event_type: EventType,
    at: datetime,
    data: dict[str, Any],
    sequence: int | None = None,
) -> None:
    body = {"type": str(event_type), "timestamp": _iso(at), "data": data}
    conn.execute(
        upsert(conn, outbound_events)
        .values(
            event_id=event_id,
            type=str(event_type),
            occurred_at=at,
            created_at=datetime.now(UTC),
            conversation_id=data.get("conversation_id"),
            interaction_id=data.get("interaction_id"),
            sequence=sequence,
            body=body,
        )
        .on_conflict_do_nothing()
    )
