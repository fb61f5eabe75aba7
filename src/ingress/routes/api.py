"""The client API: customers and their cross-channel timelines, each route behind a permission."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from ingress.auth import Permission, Principal, require
from ingress.deps import StoreDep
from switchboard.addresses import classify, normalize_identity
from switchboard.contract import CustomerInteraction, Identity, IdentityKind
from switchboard.errors import MalformedPayload

router = APIRouter(prefix="/api", tags=["api"])
READ = [Depends(require(Permission.READ))]


class IdentityOut(BaseModel):
    kind: IdentityKind
    value: str
    linked_by: str | None = Field(
        default=None,
        description="who linked it by hand (and so verified it); null when a provider did",
    )


class Customer(BaseModel):
    customer_id: str
    created_at: datetime
    identities: list[IdentityOut]
    merged_into: str | None = Field(
        default=None,
        description="the customer this one was merged into, which now holds all of it",
    )


class InteractionPage(BaseModel):
    items: list[CustomerInteraction]
    next_cursor: str | None = None


def _encode_cursor(interaction: CustomerInteraction) -> str:
    position = [interaction.occurred_at.isoformat(), interaction.interaction_id]
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        occurred_at, interaction_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(occurred_at), str(interaction_id)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "invalid cursor") from exc


class IdentityIn(BaseModel):
    kind: IdentityKind
    value: str


def identity_from(kind: IdentityKind, value: str) -> Identity:
    """The identity in its normalized form; 400 when the value is not of its kind."""
    try:
        return Identity(kind, normalize_identity(kind, value))
    except MalformedPayload as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc


def _address_identity(address: str) -> Identity:
    """A Twilio address (`+1…`, `whatsapp:+1…`, `sip:…`, `client:…`, a short code or sender ID)
    as the identity its messages and calls resolve to; 400 for a withheld caller ID."""
    try:
        found = classify(address, messaging=True)
    except MalformedPayload as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    if found.withheld:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            "a withheld caller ID names nobody: each such call has a customer of its own, "
            "found through its interaction",
        )
    return Identity(found.kind, found.value)


@router.get("/customers", response_model=Customer, dependencies=READ)
def find_customer(
    store: StoreDep,
    phone: Annotated[str | None, Query(description="any format; compared in E.164")] = None,
    email: Annotated[str | None, Query(description="compared case-folded")] = None,
    address: Annotated[
        str | None,
        Query(
            description="any address a provider sends: `sip:alice@example.com`, "
            "`client:alice`, `whatsapp:+44…`, a short code or a sender ID; normalized as the "
            "webhooks normalize it"
        ),
    ] = None,
) -> Customer:
    """Find the customer behind a phone number, an email address or another caller address."""
    if sum(given is not None for given in (phone, email, address)) != 1:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "give exactly one of phone, email or address"
        )
    if phone is not None:
        identity = identity_from(IdentityKind.PHONE, phone)
    elif email is not None:
        identity = identity_from(IdentityKind.EMAIL, email)
    else:
        identity = _address_identity(address or "")
    found = store.find_customer(identity)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no customer with that identity")
    return Customer.model_validate(found)


@router.post(
    "/customers/{customer_id}/identities",
    response_model=Customer,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require(Permission.IDENTITIES_LINK))],
    responses={409: {"description": "the identity belongs to another customer"}},
)
def link_identity(
    customer_id: str, body: IdentityIn, store: StoreDep, request: Request
) -> Customer:
    """Link a phone number, email address, push user, SIP or client address to a customer,
    verified by the caller (kept as `linked_by`).

    Linking is idempotent; an identity that already belongs to another customer is refused
    with 409 (merge the customers instead: `POST /api/customers/{id}/merge`). A withheld
    caller's identity (`anonymous`) belongs to its one call and is never linked: 400.
    """
    identity = identity_from(body.kind, body.value)
    caller: Principal | None = getattr(request.state, "principal", None)
    owner = store.link_identity(customer_id, identity, caller.actor if caller else None)
    if owner is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown customer")
    if owner != customer_id:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"{identity.kind} {identity.value} belongs to another customer",
        )
    found = store.get_customer(customer_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown customer")
    return Customer.model_validate(found)


@router.get("/customers/{customer_id}", response_model=Customer, dependencies=READ)
def get_customer(customer_id: str, store: StoreDep) -> Customer:
    """The customer and its identities; a merged one names the survivor in `merged_into`."""
    found = store.get_customer(customer_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown customer")
    return Customer.model_validate(found)


@router.get(
    "/customers/{customer_id}/interactions", response_model=InteractionPage, dependencies=READ
)
def customer_interactions(
    customer_id: str,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> InteractionPage:
    """One customer's interactions on every channel, newest first (a merged customer's: the
    survivor's, which hold theirs)."""
    if store.get_customer(customer_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown customer")
    before = _decode_cursor(cursor) if cursor else None
    # One extra row tells whether another page follows.
    rows = store.list_interactions(store.survivor(customer_id), limit + 1, before)
    page, more = rows[:limit], len(rows) > limit
    return InteractionPage(items=page, next_cursor=_encode_cursor(page[-1]) if more else None)


@router.get("/interactions/{interaction_id}", response_model=CustomerInteraction, dependencies=READ)
def get_interaction(interaction_id: str, store: StoreDep) -> CustomerInteraction:
    found = store.get_interaction(interaction_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown interaction")
    return found
