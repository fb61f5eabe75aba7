"""Customers and their identities: which customer a phone number or an address belongs to.

Functions of a connection the caller holds, so `Store` decides where transactions begin.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
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


def claim(conn: Connection, identity: Identity, customer_id: str) -> None:
    """Give the identity to the customer, unless someone already has it."""
    conn.execute(
        upsert(conn, identities)
        .values(
            kind=identity.kind,
            value=identity.value,
            customer_id=customer_id,
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing()
    )


def resolve(conn: Connection, identity: Identity, linked: Sequence[Identity]) -> str:
    """The customer who owns `identity`, else one of the `linked`, else a new one.

    Every identity is then claimed for that customer (one already someone else's stays
    theirs). Call it inside a write transaction.
    """
    customer_id = owner(conn, identity)
    for other in linked:
        customer_id = customer_id or owner(conn, other)
    if customer_id is None:
        candidate = str(uuid.uuid4())
        conn.execute(customers.insert().values(customer_id=candidate, created_at=datetime.now(UTC)))
        claim(conn, identity, candidate)
        # A concurrent first sighting may have claimed the identity first: its customer wins.
        customer_id = owner(conn, identity)
        if customer_id != candidate:
            conn.execute(customers.delete().where(customers.c.customer_id == candidate))
    else:
        claim(conn, identity, customer_id)
    assert customer_id is not None
    for other in linked:
        claim(conn, other, customer_id)
    return customer_id


def get(conn: Connection, customer_id: str) -> dict[str, Any] | None:
    """The customer with all of its identities, or None if there is no such customer."""
    created_at = conn.execute(
        select(customers.c.created_at).where(customers.c.customer_id == customer_id)
    ).scalar_one_or_none()
    if created_at is None:
        return None
    rows = conn.execute(
        select(identities.c.kind, identities.c.value)
        .where(identities.c.customer_id == customer_id)
        .order_by(identities.c.kind, identities.c.value)
    ).all()
    return {
        "customer_id": customer_id,
        "created_at": created_at,
        "identities": [{"kind": row.kind, "value": row.value} for row in rows],
    }
