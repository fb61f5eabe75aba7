"""Threading a customer's message in the store, by its own persist step, when it changes
nothing the conversation's workflow keeps.

The conversation's workflow is told (signalled) only of a message that changes its state or
its clocks: one that opens or reopens a conversation (the customer has none open), and the
customer's first message after an agent's reply (it starts the next-response clock and runs
the resolution clock again). Every other inbound message, on an open conversation that is not
waiting on the customer, changes only its last activity and its figures: the persist step
threads it here, in the transaction that stores it. The routing rules act only on the message
that opens a conversation (its queue, priority and SLA targets); later messages change none of
them. The rule, its races and what the workflow reads back are in
docs/conversations-and-routing.md ("Threading").
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import case, false, insert, literal
from sqlalchemy.engine import Connection, RowMapping

from switchboard.contract import (
    Channel,
    ConversationStatus,
    CustomerInteraction,
    Direction,
    EventKind,
    Status,
)
from switchboard.store import customers, lifecycle
from switchboard.store.tables import conversation_events, conversations
from switchboard.store.timestamps import UTCDateTime


def thread_persisted(
    conn: Connection, interaction: CustomerInteraction, stored: RowMapping
) -> str | None:
    """`thread_in_store` for an interaction just persisted (its `stored` row), if it is an
    inbound message on its way to its conversation (`processing`)."""
    if (
        interaction.direction is not Direction.INBOUND
        or interaction.status is not Status.PROCESSING
    ):
        return None
    return thread_in_store(
        conn,
        stored["interaction_id"],
        stored["customer_id"],
        interaction.channel,
        datetime.now(UTC),
    )


def thread_in_store(
    conn: Connection, interaction_id: str, customer_id: str, channel: Channel, now: datetime
) -> str | None:
    """Thread an inbound interaction into its customer's open conversation, if that changes
    nothing but the conversation's last activity; its conversation id, else None (signal).

    One compare-and-set UPDATE: the conversation must be open and not waiting on the customer
    as the store holds it when the row is written. A conversation resolved (by an agent, or
    by inactivity: `claim_inactive`) or answered in the meantime fails it, and the message
    goes to the workflow instead, which reopens or restarts the clock.
    """
    holder = customers.survivor(conn, customer_id)
    c = conversations.c
    conversation_id = conn.execute(
        conversations.update()
        .where(
            c.customer_id == holder,
            # A conversation moved by a merge is held by another customer's workflow.
            c.workflow_customer_id.is_(None),
            c.status == ConversationStatus.OPEN,
            c.awaiting_customer == false(),
        )
        .values(
            last_activity_at=case(
                (c.last_activity_at > literal(now, UTCDateTime()), c.last_activity_at), else_=now
            ),
            updated_at=now,
        )
        .returning(c.conversation_id)
    ).scalar_one_or_none()
    if conversation_id is None:
        return None
    lifecycle.complete_threaded(conn, [interaction_id], conversation_id, now)
    # On the conversation's timeline as the workflow records a message it threads; ordered by
    # time (`seq` numbers the workflow's own events).
    conn.execute(
        insert(conversation_events).values(
            event_id=str(uuid.uuid4()),
            conversation_id=conversation_id,
            customer_id=holder,
            kind=EventKind.INTERACTION,
            at=now,
            seq=0,
            detail={
                "interaction_id": interaction_id,
                "channel": str(channel),
                "direction": str(Direction.INBOUND),
            },
            actor=None,
        )
    )
    return str(conversation_id)


def claim_inactive(
    conn: Connection, conversation_id: str, active_until: datetime, now: datetime
) -> datetime | None:
    """Resolve a conversation for inactivity in the store, unless a message was threaded
    here after `active_until` (the last activity its workflow knows); None once resolved,
    else the newer last activity (the workflow re-arms its timer to it).

    The same compare-and-set as `thread_in_store`, the other way: whichever commits first
    wins, so a message is never threaded into a conversation resolving at that moment.
    """
    c = conversations.c
    resolved = conn.execute(
        conversations.update()
        .where(
            c.conversation_id == conversation_id,
            c.status == ConversationStatus.OPEN,
            c.last_activity_at.is_(None) | (c.last_activity_at <= active_until),
        )
        .values(status=ConversationStatus.RESOLVED, resolved_at=now, updated_at=now)
        .returning(c.conversation_id)
    ).first()
    if resolved is not None:
        return None
    latest = conn.execute(
        conversations.select()
        .with_only_columns(c.last_activity_at)
        .where(c.conversation_id == conversation_id)
    ).scalar_one_or_none()
    return latest if latest is not None and latest > active_until else None
