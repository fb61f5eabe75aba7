"""The events subscribers receive, as the OpenAPI document's `webhooks` section describes them.

Documentation only: the store builds the bodies (`switchboard.store.outbound`); these models
say what they hold, and `tests/ingress/test_subscriptions.py` checks real bodies against them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, Field, create_model

from switchboard.contract import Channel, EventType

_HEADERS = (
    "Signed per Standard Webhooks: `webhook-id` (the event id, the same on every attempt and "
    "replay), `webhook-timestamp` (unix seconds), `webhook-signature` (`v1,<base64 HMAC-SHA256 "
    "of id.timestamp.body>`, one per valid secret, space-separated). Answer 2xx to acknowledge; "
    "429 and 5xx (or no answer in time) are retried, honouring Retry-After; 410 disables the "
    "subscription; any other status ends the delivery. A receiver failing every attempt is "
    "held back by a circuit breaker, and disabled after days of failure."
)


class InteractionData(BaseModel):
    interaction_id: str
    provider_message_id: str
    customer_id: str
    conversation_id: str | None = Field(
        description="null for a new inbound message: it is threaded a moment later"
    )
    channel: Channel
    direction: Literal["inbound", "outbound"]
    provider: str
    queue: str
    priority: int
    status: str
    delivery_status: str | None
    occurred_at: datetime
    received_at: datetime
    persisted_at: datetime
    sla_due_at: datetime | None
    identity_verified: bool = Field(
        description="whether the identity that placed it was verified; false: only claimed"
    )
    content: dict[str, Any] | None = Field(
        default=None,
        description="text, subject, media…; present only for subscriptions with include_content",
    )


class InteractionStatusData(InteractionData):
    previous_status: str
    previous_delivery_status: str | None


class ConversationData(BaseModel):
    interaction_id: str | None = Field(
        description="the interaction that caused the change (the message that opened or "
        "reopened it, the reply sent), when there is one"
    )
    provider_message_id: str | None
    customer_id: str
    conversation_id: str
    sequence: int = Field(description="increases with every change of the conversation")
    conversation_status: Literal["open", "resolved"]
    queue: str
    priority: int
    assignee: str | None
    opened_at: datetime | None
    first_response_due_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    labels: list[str] = Field(default_factory=list)
    disposition: str | None = Field(default=None, description="of the latest resolution")
    csat_score: int | None = Field(default=None, description="1-5, of the latest resolution")
    detail: dict[str, str] = Field(
        description="what changed: `agent` (assigned, transferred), `code` and `disposition` "
        "(resolved), `reason` (reopened), `queue_from` and `queue_to` (transferred), `added`, "
        "`removed` and `labels` (labeled, comma-separated), `score` (rated), `due_at` and "
        "`target` (sla.breached: `first_response`, `next_response` or `resolution`), `channel`"
    )
    content: dict[str, Any] | None = None


class SubscriptionDisabledData(BaseModel):
    subscription_id: str = Field(description="the subscription disabled (never its URL)")
    reason: str = Field(description="why, in a few words: a 410, or days of failed deliveries")
    disabled_at: datetime
    failing_since: datetime | None = Field(
        description="since when none of its deliveries succeeded, when they were failing"
    )


class CustomerMergedData(BaseModel):
    customer_id: str = Field(description="the survivor, which now holds everything of both")
    merged_customer_id: str = Field(description="the customer merged away (answers with it)")


class CustomerSplitData(BaseModel):
    customer_id: str = Field(description="the customer split")
    new_customer_id: str
    identity_kinds: list[str] = Field(description="the kinds of the identities moved")
    interactions: int = Field(description="how many interactions moved")
    conversations: int = Field(description="how many conversations moved")


def _envelope(event_type: EventType, data: type[BaseModel]) -> type[BaseModel]:
    name = "".join(part.title() for part in event_type.replace(".", "_").split("_")) + "Event"
    return create_model(
        name,
        type=(Literal[event_type.value], ...),  # type: ignore[arg-type]
        timestamp=(datetime, ...),
        data=(data, ...),
    )


_OWN_DATA: dict[EventType, type[BaseModel]] = {
    EventType.INTERACTION_PERSISTED: InteractionData,
    EventType.INTERACTION_STATUS_CHANGED: InteractionStatusData,
    EventType.SUBSCRIPTION_DISABLED: SubscriptionDisabledData,
    EventType.CUSTOMER_MERGED: CustomerMergedData,
    EventType.CUSTOMER_SPLIT: CustomerSplitData,
}
_DATA = {t: _OWN_DATA.get(t, ConversationData) for t in EventType}
EVENT_MODELS = {event_type: _envelope(event_type, data) for event_type, data in _DATA.items()}


def document(app: FastAPI) -> None:
    """Add every event type to the OpenAPI document's `webhooks` section."""
    for event_type, model in EVENT_MODELS.items():

        def receive(body: Any) -> None:
            """Documentation of an event; Switchboard calls the subscriber, not this."""

        # Set here: each event type has its own body model.
        receive.__annotations__ = {"body": model, "return": None}
        app.webhooks.post(
            event_type.value, summary=event_type.value, description=_HEADERS, tags=["events out"]
        )(receive)
