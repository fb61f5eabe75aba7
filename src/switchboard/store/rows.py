"""Rows of the store's tables to the contract's dataclasses, and back."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy.engine import RowMapping

from switchboard.contract import (
    Channel,
    Content,
    CustomerInteraction,
    Direction,
    Identity,
    IdentityKind,
    MediaRef,
    Provider,
    RawEvent,
    Route,
    SlaPolicy,
    Status,
)


def interaction_row(interaction: CustomerInteraction, persisted_at: datetime) -> dict[str, Any]:
    """The `interactions` row of a new interaction, committed at `persisted_at`."""
    return {
        **_interaction_columns(interaction),
        "persisted_at": persisted_at,
        "updated_at": persisted_at,
    }


def changed_columns(before: CustomerInteraction, after: CustomerInteraction) -> dict[str, Any]:
    """The `interactions` columns whose values differ between two versions of one row."""
    old = _interaction_columns(before)
    return {
        name: value for name, value in _interaction_columns(after).items() if old[name] != value
    }


def _interaction_columns(interaction: CustomerInteraction) -> dict[str, Any]:
    # Every column the interaction itself determines; the store's own timestamps are not here.
    return {
        "interaction_id": interaction.interaction_id,
        "customer_id": interaction.customer_id,
        "conversation_id": interaction.conversation_id,
        "channel": interaction.channel,
        "direction": interaction.direction,
        "provider": interaction.provider,
        "provider_message_id": interaction.provider_message_id,
        "from_address": interaction.from_address,
        "to_address": interaction.to_address,
        "occurred_at": interaction.occurred_at,
        "received_at": interaction.received_at,
        "status": interaction.status,
        "delivery_status": interaction.delivery_status,
        "content": asdict(interaction.content),
        "route_queue": interaction.route.queue,
        "route_priority": interaction.route.priority,
        "sla_due_at": interaction.route.sla_due_at,
        "route_sla": None if interaction.route.sla is None else asdict(interaction.route.sla),
        "identity_verified": interaction.identity_verified,
        "claimed_identities": [asdict(i) for i in interaction.claimed_identities] or None,
    }


def interaction_from_row(row: RowMapping) -> CustomerInteraction:
    content = dict(row["content"])
    content["media"] = [MediaRef(**media) for media in content.get("media", [])]
    return CustomerInteraction(
        interaction_id=row["interaction_id"],
        customer_id=row["customer_id"],
        conversation_id=row["conversation_id"],
        channel=Channel(row["channel"]),
        direction=Direction(row["direction"]),
        provider=Provider(row["provider"]),
        provider_message_id=row["provider_message_id"],
        from_address=row["from_address"],
        to_address=row["to_address"],
        occurred_at=row["occurred_at"],
        received_at=row["received_at"],
        persisted_at=row["persisted_at"],
        status=Status(row["status"]),
        delivery_status=row["delivery_status"],
        content=Content(**content),
        route=Route(
            queue=row["route_queue"],
            priority=row["route_priority"],
            sla_due_at=row["sla_due_at"],
            sla=sla_policy(row["route_sla"]),
        ),
        identity_verified=bool(row.get("identity_verified", True)),
        claimed_identities=[
            Identity(IdentityKind(i["kind"]), i["value"], verified=False)
            for i in row.get("claimed_identities") or []
        ],
    )


def sla_policy(stored: dict[str, Any] | None) -> SlaPolicy | None:
    """The `route_sla` column as the contract's `SlaPolicy` (None before SLA policies)."""
    return None if stored is None else SlaPolicy(**stored)


def raw_event_row(raw: RawEvent, error: str | None) -> dict[str, Any]:
    """The `raw_events` row archiving a webhook, with the reason it failed, if it did."""
    return {
        "provider": raw.provider,
        "kind": raw.kind,
        "event_key": raw.event_key,
        "received_at": raw.received_at,
        "url": raw.url,
        "content_type": raw.content_type,
        "fields": [list(pair) for pair in raw.fields],
        "headers": [list(pair) for pair in raw.headers],
        "error": error,
    }


def raw_event_from_row(row: RowMapping) -> RawEvent:
    return RawEvent(
        provider=Provider(row["provider"]),
        kind=row["kind"],
        event_key=row["event_key"],
        received_at=row["received_at"],
        url=row["url"],
        content_type=row["content_type"],
        fields=[(name, value) for name, value in row["fields"]],
        headers=[(name, value) for name, value in row["headers"] or []],
    )
