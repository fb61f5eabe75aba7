"""Merge and split of customers (the suggestions claims leave are in `store.suggestions`).

Functions of a connection in a write transaction (`CustomerMerges` opens them). A merge moves
everything the other customer holds to the survivor: identities, interactions, conversations
and their events (the outbox, raw events, blobs and events out hang off those rows and move
with them); the other id stays as a pointer (`customers.merged_into`). A split gives a new
customer some identities, the interactions that came through them, and the conversations left
holding only those. Both are logged (`customer_changes`) so the next export recomputes both
customers' figures, and ask the `conversation_events` days they touched to be rewritten.

Conversation workflows are `conversation:{customer_id}`. A merged customer's running workflow
is left running: it holds that customer's open conversation, which stays open, now under the
survivor (its row's `workflow_customer_id` sends agent actions to it, and what it records is
written under the survivor). Their new messages resolve to the survivor and thread into the
survivor's own conversation workflow.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.engine import Connection

from switchboard.contract import EventType, Identity
from switchboard.store import customers as customer_rows
from switchboard.store import outbound
from switchboard.store.engine import upsert, write_transaction
from switchboard.store.retention import EVENTS_DATASET, WHOLE_DAY
from switchboard.store.tables import (
    conversation_events,
    conversations,
    customer_changes,
    customers,
    export_rewrites,
    identities,
    interactions,
    merge_suggestions,
)

MERGED = "merged"
SPLIT = "split"


class NotFound(LookupError):
    """No such customer (or it was erased)."""


class Conflict(ValueError):
    """The merge or split cannot be done as asked; the message says why (no personal data)."""


@dataclass(frozen=True)
class SplitResult:
    customer_id: str
    interactions: int
    conversations: int


def _customer(conn: Connection, customer_id: str) -> Any:
    found = conn.execute(
        select(customers.c.customer_id, customers.c.merged_into)
        .where(customers.c.customer_id == customer_id)
        .with_for_update()
    ).one_or_none()
    if found is None:
        raise NotFound("unknown customer")
    return found


def merge(conn: Connection, survivor: str, other: str, actor: str | None, now: datetime) -> bool:
    """Merge `other` into `survivor`; False when it already was (a repeated merge)."""
    if survivor == other:
        raise Conflict("a customer cannot be merged into itself")
    target = _customer(conn, survivor)
    source = _customer(conn, other)
    if target.merged_into:
        raise Conflict("the surviving customer was itself merged into another")
    if source.merged_into == survivor:
        return False
    if source.merged_into:
        raise Conflict("that customer was already merged into another")
    conn.execute(
        identities.update().where(identities.c.customer_id == other).values(customer_id=survivor)
    )
    conn.execute(
        interactions.update()
        .where(interactions.c.customer_id == other)
        .values(customer_id=survivor, updated_at=now)
    )
    _move_conversations(conn, conversations.c.customer_id == other, survivor, now)
    conn.execute(
        merge_suggestions.update()
        .where(merge_suggestions.c.customer_id == other)
        .values(customer_id=survivor)
    )
    conn.execute(
        merge_suggestions.update()
        .where(merge_suggestions.c.other_customer_id == other)
        .values(other_customer_id=survivor)
    )
    # A suggestion between the two is answered by the merge itself.
    conn.execute(
        merge_suggestions.update()
        .where(
            merge_suggestions.c.customer_id == survivor,
            merge_suggestions.c.other_customer_id == survivor,
            merge_suggestions.c.dismissed_at.is_(None),
        )
        .values(dismissed_at=now, dismissed_by=actor)
    )
    # Ids merged into `other` before now point at the survivor too: always one hop.
    conn.execute(
        customers.update()
        .where(or_(customers.c.customer_id == other, customers.c.merged_into == other))
        .values(merged_into=survivor, merged_at=now)
    )
    _log(conn, MERGED, survivor, other, actor, now)
    outbound.customer_changed(
        conn,
        EventType.CUSTOMER_MERGED,
        f"{other}>{survivor}",
        now,
        {"customer_id": survivor, "merged_customer_id": other},
    )
    return True


def split(
    conn: Connection, customer_id: str, moving: Sequence[Identity], actor: str | None, now: datetime
) -> SplitResult:
    """A new customer with `moving` (the customer's identities), the interactions that came
    through them (from or to one of their addresses), and the conversations left with only
    those interactions."""
    found = _customer(conn, customer_id)
    if found.merged_into:
        raise Conflict("that customer was merged into another; split the survivor")
    for identity in moving:
        if customer_rows.owner(conn, identity) != customer_id:
            raise Conflict(f"a {identity.kind} identity given is not this customer's")
    new_id = str(uuid.uuid4())
    conn.execute(customers.insert().values(customer_id=new_id, created_at=now))
    for identity in moving:
        conn.execute(
            identities.update()
            .where(identities.c.kind == identity.kind, identities.c.value == identity.value)
            .values(customer_id=new_id)
        )
    addresses = sorted({identity.value for identity in moving})
    moved = conn.execute(
        interactions.update()
        .where(
            interactions.c.customer_id == customer_id,
            or_(
                interactions.c.from_address.in_(addresses),
                interactions.c.to_address.in_(addresses),
            ),
        )
        .values(customer_id=new_id, updated_at=now)
    ).rowcount
    # A conversation goes along when every interaction it threaded went.
    theirs = select(interactions.c.conversation_id).where(
        interactions.c.customer_id == new_id, interactions.c.conversation_id.is_not(None)
    )
    kept = select(interactions.c.conversation_id).where(
        interactions.c.customer_id == customer_id, interactions.c.conversation_id.is_not(None)
    )
    which = and_(
        conversations.c.customer_id == customer_id,
        conversations.c.conversation_id.in_(theirs),
        conversations.c.conversation_id.not_in(kept),
    )
    went = _move_conversations(conn, which, new_id, now)
    _log(conn, SPLIT, customer_id, new_id, actor, now)
    outbound.customer_changed(
        conn,
        EventType.CUSTOMER_SPLIT,
        f"{customer_id}<{new_id}",
        now,
        {
            "customer_id": customer_id,
            "new_customer_id": new_id,
            "identity_kinds": sorted({str(i.kind) for i in moving}),
            "interactions": int(moved),
            "conversations": went,
        },
    )
    return SplitResult(new_id, int(moved), went)


def _move_conversations(conn: Connection, which: Any, to: str, now: datetime) -> int:
    """Give the conversations `which` selects, and their events, to customer `to`; each keeps
    the workflow that holds it (`workflow_customer_id`). Their events' days are rewritten by
    the next export, which would otherwise keep the old customer id in them."""
    ids = list(conn.execute(select(conversations.c.conversation_id).where(which)).scalars())
    if not ids:
        return 0
    conn.execute(
        conversations.update()
        .where(conversations.c.conversation_id.in_(ids))
        .values(
            workflow_customer_id=func.coalesce(
                conversations.c.workflow_customer_id, conversations.c.customer_id
            ),
            customer_id=to,
            updated_at=now,
        )
    )
    days = set(
        conn.execute(
            select(conversation_events.c.at).where(conversation_events.c.conversation_id.in_(ids))
        ).scalars()
    )
    conn.execute(
        conversation_events.update()
        .where(conversation_events.c.conversation_id.in_(ids))
        .values(customer_id=to)
    )
    for day in {at.date() for at in days}:
        conn.execute(
            upsert(conn, export_rewrites)
            .values(dataset=EVENTS_DATASET, day=day, part=WHOLE_DAY, requested_at=now)
            .on_conflict_do_nothing()
        )
    return len(ids)


def _log(
    conn: Connection, kind: str, customer_id: str, other: str, actor: str | None, now: datetime
) -> None:
    conn.execute(
        customer_changes.insert().values(
            kind=kind, customer_id=customer_id, other_customer_id=other, at=now, actor=actor
        )
    )


class CustomerMerges:
    """Merges, splits and suggestions over the process's engine (the API's and the CLI's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def merge(self, survivor: str, other: str, actor: str | None) -> dict[str, Any]:
        """Merge and return the survivor (NotFound, Conflict as `merge` raises them)."""
        with write_transaction(self.engine) as conn:
            merge(conn, survivor, other, actor, datetime.now(UTC))
            found = customer_rows.get(conn, survivor)
        assert found is not None
        return found

    def split(self, customer_id: str, moving: Sequence[Identity], actor: str | None) -> SplitResult:
        with write_transaction(self.engine) as conn:
            return split(conn, customer_id, moving, actor, datetime.now(UTC))


def changed_since(conn: Connection, since: datetime) -> set[str]:
    """The customers a merge or split touched after `since` (the export recomputes them)."""
    rows = conn.execute(
        select(customer_changes.c.customer_id, customer_changes.c.other_customer_id).where(
            customer_changes.c.at > since
        )
    ).all()
    return {customer for row in rows for customer in row}
