"""The client API: customers and their cross-channel timelines, each route behind a permission."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from ingress import pagination, problems
from ingress.auth import Permission, Principal, require
from ingress.deps import StoreDep
from ingress.idempotency import Idempotent
from ingress.pagination import Cursor, Limit, Page
from switchboard.addresses import classify, normalize_identity
from switchboard.contract import CustomerInteraction, Identity, IdentityKind
from switchboard.errors import MalformedPayload

router = APIRouter(
    prefix="/api", tags=["api"], responses=problems.responses(*problems.AUTHENTICATED)
)
READ = [Depends(require(Permission.READ))]

# What the schema allows is what the API reads: a phone number in any common notation, an
# email address with one `@` and no spaces.
PHONE_PATTERN = r"^(whatsapp:|sms:|tel:)?\+?[0-9(][0-9 ().-]{0,31}$"
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]{1,255}$"


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


class PhoneIn(BaseModel):
    kind: Literal[IdentityKind.PHONE]
    value: str = Field(pattern=PHONE_PATTERN, examples=["+14155550123"])


class EmailIn(BaseModel):
    kind: Literal[IdentityKind.EMAIL]
    value: str = Field(pattern=EMAIL_PATTERN, examples=["ada@example.com"])


class PushUserIn(BaseModel):
    kind: Literal[IdentityKind.PUSH_USER]
    value: str = Field(pattern=r"^\S(.{0,254}\S)?$", description="the push service's user id")


class AddressIn(BaseModel):
    kind: Literal[
        IdentityKind.SIP,
        IdentityKind.CLIENT,
        IdentityKind.WHATSAPP,
        IdentityKind.SHORT_CODE,
        IdentityKind.ALPHANUMERIC,
    ]
    value: str = Field(
        pattern=r"^\S(.{0,254}\S)?$",
        description="`sip:alice@example.com`, `client:alice`, a WhatsApp id, a short code or "
        "a sender ID",
    )


IdentityIn = Annotated[PhoneIn | EmailIn | PushUserIn | AddressIn, Field(discriminator="kind")]


def identity_from(kind: IdentityKind, value: str) -> Identity:
    """The identity in its normalized form; 422 naming the field when the value is not of
    its kind (the schema cannot know every possible phone number)."""
    try:
        return Identity(kind, normalize_identity(kind, value))
    except MalformedPayload as exc:
        raise problems.invalid_field(("body", "value"), str(exc)) from exc


def _lookup(kind: str, value: str) -> Identity | None:
    """The identity a lookup names, or None when it names nobody: a value that is not of its
    kind, or a withheld caller ID (each such call has a customer of its own, found through
    its interaction). `kind` "address" is any address a provider sends (`+1…`,
    `whatsapp:+1…`, `sip:…`, `client:…`, a short code or a sender ID)."""
    try:
        if kind != "address":
            return Identity(IdentityKind(kind), normalize_identity(kind, value))
        found = classify(value, messaging=True)
    except MalformedPayload:
        return None
    return None if found.withheld else Identity(found.kind, found.value)


@router.get("/customers", response_model=Page[Customer], dependencies=READ)
def list_customers(
    store: StoreDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    phone: Annotated[
        str | None,
        Query(pattern=PHONE_PATTERN, description="any notation; compared in E.164"),
    ] = None,
    email: Annotated[
        str | None, Query(pattern=EMAIL_PATTERN, description="compared case-folded")
    ] = None,
    address: Annotated[
        str | None,
        Query(
            description="any address a provider sends: `sip:alice@example.com`, "
            "`client:alice`, `whatsapp:+44…`, a short code or a sender ID; normalized as the "
            "webhooks normalize it"
        ),
    ] = None,
) -> dict[str, Any]:
    """Customers, newest first; with `phone`, `email` and/or `address`, the one customer who
    has them.

    A lookup finds at most one customer: `items` is empty when nobody has that identity
    (a number that is no possible phone number and a withheld caller ID included), or when
    the identities given belong to different customers.
    """
    given = [
        (kind, value)
        for kind, value in (("phone", phone), ("email", email), ("address", address))
        if value is not None
    ]
    if not given:
        rows = store.list_customers(limit + 1, pagination.position(cursor))
        return pagination.page(rows, limit, lambda c: (c["created_at"], c["customer_id"]))
    owners = set()
    for kind, value in given:
        identity = _lookup(kind, value)
        found = store.find_customer(identity) if identity else None
        owners.add(found["customer_id"] if found else None)
    owner = owners.pop() if len(owners) == 1 else None
    customer = store.get_customer(owner) if owner else None
    return {"items": [customer] if customer else [], "next_cursor": None}


@router.post(
    "/customers/{customer_id}/identities",
    response_model=Customer,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require(Permission.IDENTITIES_LINK)), Idempotent],
    responses=problems.responses(404, 409),
)
def link_identity(
    customer_id: str, body: IdentityIn, store: StoreDep, request: Request
) -> Customer:
    """Link a phone number, email address, push user, SIP or client address to a customer,
    verified by the caller (kept as `linked_by`).

    Linking is idempotent; an identity that already belongs to another customer is refused
    with 409 (merge the customers instead: `POST /api/customers/{id}/merge`). A value that is
    not of its kind (a phone number that is not a possible number) is refused with 422; a
    withheld caller's identity belongs to its one call and is not in the schema.
    """
    identity = identity_from(body.kind, body.value)
    caller: Principal | None = getattr(request.state, "principal", None)
    owner = store.link_identity(customer_id, identity, caller.actor if caller else None)
    if owner is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown customer")
    if owner != customer_id:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"that {identity.kind} belongs to another customer"
        )
    found = store.get_customer(customer_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown customer")
    return Customer.model_validate(found)


@router.get(
    "/customers/{customer_id}",
    response_model=Customer,
    dependencies=READ,
    responses=problems.responses(404),
)
def get_customer(customer_id: str, store: StoreDep) -> Customer:
    """The customer and its identities; a merged one names the survivor in `merged_into`."""
    found = store.get_customer(customer_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown customer")
    return Customer.model_validate(found)


@router.get(
    "/customers/{customer_id}/interactions",
    response_model=Page[CustomerInteraction],
    dependencies=READ,
    responses=problems.responses(404),
)
def customer_interactions(
    customer_id: str, store: StoreDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """One customer's interactions on every channel, newest first (a merged customer's: the
    survivor's, which hold theirs)."""
    if store.get_customer(customer_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown customer")
    rows = store.list_interactions(
        store.survivor(customer_id), limit + 1, pagination.position(cursor)
    )
    return pagination.page(rows, limit, lambda i: (i.occurred_at, i.interaction_id))


@router.get(
    "/interactions/{interaction_id}",
    response_model=CustomerInteraction,
    dependencies=READ,
    responses=problems.responses(404),
)
def get_interaction(interaction_id: str, store: StoreDep) -> CustomerInteraction:
    found = store.get_interaction(interaction_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown interaction")
    return found
