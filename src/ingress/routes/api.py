"""The client API: customers and their cross-channel timelines, each route behind a permission."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field

from ingress import pagination, problems
from ingress.auth import Permission, require
from ingress.deps import StoreDep
from ingress.idempotency import Idempotent
from ingress.pagination import Cursor, Limit, Page
from switchboard.addresses import normalize_email, normalize_phone
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


class Customer(BaseModel):
    customer_id: str
    created_at: datetime
    identities: list[IdentityOut]


class PhoneIn(BaseModel):
    kind: Literal[IdentityKind.PHONE]
    value: str = Field(pattern=PHONE_PATTERN, examples=["+14155550123"])


class EmailIn(BaseModel):
    kind: Literal[IdentityKind.EMAIL]
    value: str = Field(pattern=EMAIL_PATTERN, examples=["ada@example.com"])


class PushUserIn(BaseModel):
    kind: Literal[IdentityKind.PUSH_USER]
    value: str = Field(pattern=r"^\S(.{0,254}\S)?$", description="the push service's user id")


IdentityIn = Annotated[PhoneIn | EmailIn | PushUserIn, Field(discriminator="kind")]


def _identity(kind: IdentityKind, value: str) -> Identity:
    """The identity in its normalized form; MalformedPayload when it is not of its kind."""
    if kind is IdentityKind.PHONE:
        return Identity(kind, normalize_phone(value))
    if kind is IdentityKind.EMAIL:
        return Identity(kind, normalize_email(value))
    return Identity(kind, value.strip())


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
) -> dict[str, Any]:
    """Customers, newest first; with `phone` and/or `email`, the one customer who has them.

    A lookup finds at most one customer: `items` is empty when nobody has that identity
    (a number that is no possible phone number included), or when the phone and the email
    given belong to two different customers.
    """
    if phone is None and email is None:
        rows = store.list_customers(limit + 1, pagination.position(cursor))
        return pagination.page(rows, limit, lambda c: (c["created_at"], c["customer_id"]))
    owners = set()
    for kind, value in ((IdentityKind.PHONE, phone), (IdentityKind.EMAIL, email)):
        if value is not None:
            try:
                found = store.find_customer(_identity(kind, value))
            except MalformedPayload:
                found = None
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
def link_identity(customer_id: str, body: IdentityIn, store: StoreDep) -> Customer:
    """Link a phone number, email address or push user to a customer.

    Linking is idempotent; an identity that already belongs to another customer is refused
    with 409 (customers are not merged implicitly). A phone number that is not a possible
    number is refused with 422.
    """
    try:
        identity = _identity(body.kind, body.value)
    except MalformedPayload as exc:
        raise problems.invalid_field(("body", "value"), str(exc)) from exc
    owner = store.link_identity(customer_id, identity)
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
    "/customers/{customer_id}/interactions",
    response_model=Page[CustomerInteraction],
    dependencies=READ,
    responses=problems.responses(404),
)
def customer_interactions(
    customer_id: str, store: StoreDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """One customer's interactions on every channel, newest first."""
    if store.get_customer(customer_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown customer")
    rows = store.list_interactions(customer_id, limit + 1, pagination.position(cursor))
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
