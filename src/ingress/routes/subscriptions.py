"""Subscriptions to events out (admin): create, read, change, rotate; deliveries and replay."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, Field, field_validator

from ingress import pagination, problems
from ingress.auth import Permission, require
from ingress.deps import SettingsDep
from ingress.idempotency import Idempotent
from ingress.pagination import Cursor, Limit, Page
from ingress.params import Timestamp
from switchboard import egress
from switchboard.contract import DeliveryStatus, EventType
from switchboard.store.breaker import BreakerState
from switchboard.store.subscriptions import SubscriptionStore

router = APIRouter(
    prefix="/api/subscriptions",
    tags=["subscriptions"],
    dependencies=[Depends(require(Permission.SUBSCRIPTIONS_MANAGE))],
    responses=problems.responses(*problems.AUTHENTICATED),
)
# A URL the schema allows can still be refused: only resolving its host tells whether it is
# public (422, like a field that does not validate).
URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#@]+([/?#]\S*)?$"
NOT_FOUND = problems.responses(404)


def get_subscriptions(request: Request) -> SubscriptionStore:
    return SubscriptionStore(request.app.state.store.engine)


SubscriptionsDep = Annotated[SubscriptionStore, Depends(get_subscriptions)]
# At least one: minItems in the schema (a length on the union would not reach the array).
EventFilter = Annotated[list[EventType | Literal["*"]], Field(min_length=1)]


def _events(value: Any) -> Any:
    # `"*"` alone reads better than `["*"]`; both mean every event type.
    return ["*"] if value == "*" else value


class SubscriptionIn(BaseModel):
    url: str = Field(
        max_length=2000,
        pattern=URL_PATTERN,
        examples=["https://crm.example.com/hooks/switchboard"],
        description="https (http too with SWITCHBOARD_SUBSCRIPTIONS_ALLOW_PRIVATE); its host "
        "must resolve to public addresses only, else 422",
    )
    events: EventFilter | Literal["*"] = Field(description="event types, or `*` for all of them")
    description: str | None = Field(default=None, max_length=500)
    include_content: bool = Field(
        default=False, description="send message content (text, subject, media) in events"
    )

    _normalize = field_validator("events", mode="after")(_events)


class SubscriptionPatch(BaseModel):
    url: str | None = Field(default=None, max_length=2000, pattern=URL_PATTERN)
    events: EventFilter | Literal["*"] | None = None
    enabled: bool | None = None

    _normalize = field_validator("events", mode="after")(_events)


class Subscription(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str | None
    include_content: bool
    enabled: bool
    disabled_reason: str | None = Field(
        description="why it was disabled: by an admin (none), a 410, or days of failures"
    )
    breaker_state: Literal["closed", "open", "half_open"] = Field(
        description="its receiver's circuit breaker: `open` holds deliveries back after "
        "failures in a row, `half_open` lets one probe through after the cool-down"
    )
    breaker_until: datetime | None = Field(
        description="open: the end of the cool-down; half_open: the end of the probe's lease"
    )
    consecutive_failures: int = Field(description="failed attempts since the last success")
    failing_since: datetime | None = Field(
        description="since when no attempt succeeded; disabled once this is "
        "`SWITCHBOARD_SUBSCRIPTIONS_DISABLE_AFTER_S` old"
    )
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(Subscription):
    secret: str = Field(description="the signing secret (`whsec_…`), shown only this once")


class SecretRotated(BaseModel):
    id: str
    secret: str = Field(description="the new signing secret, shown only this once")
    previous_secret_expires_at: datetime = Field(
        description="until then, deliveries carry signatures with both secrets"
    )


class Delivery(BaseModel):
    delivery_id: str
    event_id: str = Field(description="the `webhook-id` header: the same on every attempt")
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_latency_ms: int | None
    last_error: str | None
    response_excerpt: str | None
    next_attempt_at: datetime | None
    held_until: datetime | None = Field(
        description="pending, and held back by the subscription's open circuit breaker: "
        "not sent before then"
    )
    created_at: datetime
    delivered_at: datetime | None


class ReplayIn(BaseModel):
    since: Timestamp = Field(description="resend every event since then not yet delivered")


class Started(BaseModel):
    deliveries: int


def _out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "id": row["subscription_id"]}


async def _check_url(url: str, allow_private: bool) -> None:
    try:
        await egress.resolve(url, allow_private)
    except egress.RefusedUrl as exc:
        raise problems.invalid_field(("body", "url"), str(exc)) from exc


def _found(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such subscription")
    return row


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionCreated,
    dependencies=[Idempotent],
)
async def create(
    body: SubscriptionIn, store: SubscriptionsDep, settings: SettingsDep
) -> dict[str, Any]:
    await _check_url(body.url, settings.subscriptions_allow_private)
    row = store.create(
        body.url, [str(e) for e in body.events], body.description, body.include_content
    )
    return _out(row)


@router.get("", response_model=Page[Subscription])
def list_subscriptions(
    store: SubscriptionsDep, limit: Limit = 100, cursor: Cursor = None
) -> dict[str, Any]:
    """Oldest first."""
    rows = [_out(row) for row in store.list_all(limit + 1, pagination.position(cursor))]
    return pagination.page(rows, limit, lambda row: (row["created_at"], row["id"]))


@router.get("/{subscription_id}", response_model=Subscription, responses=NOT_FOUND)
def get(subscription_id: str, store: SubscriptionsDep) -> dict[str, Any]:
    return _out(_found(store.get(subscription_id)))


@router.patch("/{subscription_id}", response_model=Subscription, responses=NOT_FOUND)
async def change(
    subscription_id: str, body: SubscriptionPatch, store: SubscriptionsDep, settings: SettingsDep
) -> dict[str, Any]:
    _found(store.get(subscription_id))
    changes = body.model_dump(exclude_none=True, mode="json")
    if body.url is not None:
        await _check_url(body.url, settings.subscriptions_allow_private)
    return _out(_found(store.update(subscription_id, **changes)))


@router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def remove(subscription_id: str, store: SubscriptionsDep) -> Response:
    if not store.delete(subscription_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such subscription")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{subscription_id}/rotate-secret",
    response_model=SecretRotated,
    responses=NOT_FOUND,
    dependencies=[Idempotent],
)
def rotate_secret(subscription_id: str, store: SubscriptionsDep) -> dict[str, Any]:
    return _out(_found(store.rotate(subscription_id)))


@router.get("/{subscription_id}/deliveries", response_model=Page[Delivery], responses=NOT_FOUND)
def deliveries(
    subscription_id: str,
    store: SubscriptionsDep,
    status_: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Newest first."""
    sub = _found(store.get(subscription_id))
    held = sub["breaker_until"] if sub["breaker_state"] != BreakerState.CLOSED else None
    rows = [
        {**row, "held_until": held if row["status"] == DeliveryStatus.PENDING else None}
        for row in store.deliveries(
            subscription_id, status_, limit + 1, pagination.position(cursor)
        )
    ]
    return pagination.page(rows, limit, lambda row: (row["created_at"], row["delivery_id"]))


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Started,
    responses=NOT_FOUND,
    dependencies=[Idempotent],
)
def retry_delivery(
    subscription_id: str, delivery_id: str, store: SubscriptionsDep
) -> dict[str, int]:
    """Due again now, with the whole retry schedule before it (the deliverer sends it)."""
    if not store.reset(subscription_id, delivery_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such delivery")
    return {"deliveries": 1}


@router.post(
    "/{subscription_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Started,
    responses=NOT_FOUND,
    dependencies=[Idempotent],
)
def replay(subscription_id: str, body: ReplayIn, store: SubscriptionsDep) -> dict[str, int]:
    _found(store.get(subscription_id))
    return {"deliveries": len(store.replay(subscription_id, body.since))}
