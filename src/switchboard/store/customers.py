"""Customers and their identities: which customer a phone number or an address belongs to.

Functions of a connection the caller holds, so `Store` decides where transactions begin.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from switchboard.contract import Identity
from switchboard.store.engine import upsert
from switchboard.store.tables import customers, identities


def owner(conn: Connection, identity: Identity) -> str | None:
    """The customer the identity belongs to, if anyone."""
    found = conn.execute(
        select(identities.c.customer_id).where(
            identities.c.kind == identity.kind, identities.c.value == identity.value
        )
    ).scalar_one_or_none()
    return None if found is None else str(found)


def claim(
    conn: Connection, identity: Identity, customer_id: str, linked_by: str | None = None
) -> None:
    """Give the verified identity to the customer, unless someone already has it.

    `linked_by`: who verified an identity linked by hand (None: its provider did).
    """
    conn.execute(
        upsert(conn, identities)
        .values(
            kind=identity.kind,
            value=identity.value,
            customer_id=customer_id,
            created_at=datetime.now(UTC),
            linked_by=linked_by,
        )
        .on_conflict_do_nothing()
    )


def survivor(conn: Connection, customer_id: str) -> str:
    """The customer that holds `customer_id`'s record now: itself, or the one it was merged
    into (merges point every merged id straight at the survivor, so one hop is enough)."""
    merged_into = conn.execute(
        select(customers.c.merged_into).where(customers.c.customer_id == customer_id)
    ).scalar_one_or_none()
    return str(merged_into) if merged_into else customer_id


def claim_customer_id(provider: str, provider_message_id: str) -> str:
    """The customer of its own that a message placed by a claim gets: derived from the
    message's key, so a retried dedupe or a redelivery finds the same one."""
    return str(uuid.uuid5(_CLAIMS, f"{provider}:{provider_message_id}"))


_CLAIMS = uuid.UUID("0b6f7c1e-30a4-4f43-8f0e-5c9a3e2d7b10")


def resolve(conn: Connection, identity: Identity, claim_key: str | None = None) -> str:
    """The customer a message placed by `identity` belongs to; call it in a write transaction.

    A verified identity finds its owner, else a new customer who then owns it. A claim never
    finds or owns anyone: the message gets a customer of its own, `claim_key` (see
    `claim_customer_id`), created on first use.
    """
    if not identity.verified:
        customer_id = claim_key or str(uuid.uuid4())
        conn.execute(
            upsert(conn, customers)
            .values(customer_id=customer_id, created_at=datetime.now(UTC))
            .on_conflict_do_nothing()
        )
        return survivor(conn, customer_id)
    found = owner(conn, identity)
    if found is None:
        candidate = str(uuid.uuid4())
        conn.execute(customers.insert().values(customer_id=candidate, created_at=datetime.now(UTC)))
        claim(conn, identity, candidate)
        # A concurrent first sighting may have claimed the identity first: its customer wins.
        found = owner(conn, identity)
        if found != candidate:
            conn.execute(customers.delete().where(customers.c.customer_id == candidate))
    assert found is not None
    return found


def get(conn: Connection, customer_id: str) -> dict[str, Any] | None:
    """The customer with all of its identities (and `merged_into`, the survivor, for a merged
    one), or None if there is no such customer."""
    found = conn.execute(
        select(customers.c.created_at, customers.c.merged_into).where(
            customers.c.customer_id == customer_id
        )
    ).one_or_none()
    if found is None:
        return None
    rows = conn.execute(
        select(identities.c.kind, identities.c.value, identities.c.linked_by)
        .where(identities.c.customer_id == customer_id)
        .order_by(identities.c.kind, identities.c.value)
    ).all()
    return {
        "customer_id": customer_id,
        "created_at": found.created_at,
        "merged_into": found.merged_into,
        "identities": [
            {"kind": row.kind, "value": row.value, "linked_by": row.linked_by} for row in rows
        ],
    }
