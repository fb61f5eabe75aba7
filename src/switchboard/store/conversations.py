"""Conversations in the store: written by the conversation workflow, read by the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, case, literal, select

from switchboard.contract import (
    Channel,
    ConversationEvent,
    ConversationState,
    Direction,
    InteractionRef,
    Route,
    SendReplyInput,
)
from switchboard.store import conversation_threading, customers, lifecycle, outbound
from switchboard.store.engine import upsert, write_transaction
from switchboard.store.paging import Position, keyset
from switchboard.store.rows import sla_policy
from switchboard.store.tables import conversation_events, conversations, interactions, outbox
from switchboard.store.timestamps import UTCDateTime

_STATE_COLUMNS = (
    "status",
    "queue",
    "priority",
    "assignee",
    "opened_at",
    "first_response_due_at",
    "first_response_at",
    "sla_breached",
    "resolved_at",
    "resolution_code",
    "labels",
    "disposition",
    "csat_score",
    "awaiting_customer",
)


class ConversationStore:
    """The conversation tables; shares the process's engine with `Store`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def interaction_refs(self, interaction_ids: list[str]) -> list[InteractionRef]:
        """What a conversation threads, read from the interactions' rows; unknown ids skipped."""
        if not interaction_ids:
            return []
        query = select(
            interactions.c.interaction_id,
            interactions.c.customer_id,
            interactions.c.channel,
            interactions.c.direction,
            interactions.c.route_queue,
            interactions.c.route_priority,
            interactions.c.sla_due_at,
            interactions.c.route_sla,
        ).where(interactions.c.interaction_id.in_(interaction_ids))
        with self.engine.connect() as conn:
            rows = {row.interaction_id: row for row in conn.execute(query)}
        return [
            InteractionRef(
                interaction_id=row.interaction_id,
                customer_id=row.customer_id,
                channel=Channel(row.channel),
                direction=Direction(row.direction),
                route=Route(
                    row.route_queue,
                    row.route_priority,
                    row.sla_due_at,
                    sla=sla_policy(row.route_sla),
                ),
            )
            for row in (rows.get(i) for i in interaction_ids)
            if row is not None
        ]

    def latest_subject(self, conversation_id: str) -> str | None:
        """The subject of the conversation's latest customer email that had one (what an email
        reply answers), read when the reply is sent: the conversation holds no subject."""
        query = (
            select(interactions.c.content)
            .where(
                interactions.c.conversation_id == conversation_id,
                interactions.c.direction == Direction.INBOUND,
                interactions.c.channel == Channel.EMAIL,
            )
            .order_by(interactions.c.occurred_at.desc())
        )
        with self.engine.connect() as conn:
            for content in conn.execute(query).scalars():
                subject = (content or {}).get("subject")
                if subject:
                    return str(subject)
        return None

    def claim_inactive(self, conversation_id: str, active_until: datetime) -> datetime | None:
        """`conversation_threading.claim_inactive` in a transaction of its own."""
        with write_transaction(self.engine) as conn:
            return conversation_threading.claim_inactive(
                conn, conversation_id, active_until, datetime.now(UTC)
            )

    def survivor(self, customer_id: str) -> str:
        """The customer whose conversation threads `customer_id`'s messages now."""
        with self.engine.connect() as conn:
            return customers.survivor(conn, customer_id)

    def record(
        self,
        customer_id: str,
        state: ConversationState,
        events: list[ConversationEvent],
        interaction_ids: list[str],
    ) -> None:
        """Write the conversation's current row, its new events and its threaded interactions.

        Idempotent: events carry ids assigned by the workflow, and the row is the state.
        """
        if state.conversation_id is None:
            return
        row = {name: getattr(state, name) for name in _STATE_COLUMNS}
        row["updated_at"] = datetime.now(UTC)
        # A message threaded by its persist step (`store.threading`) may be newer than what
        # the workflow knows: the later of the two stands.
        known = conversations.c.last_activity_at
        ours = literal(state.last_activity_at, UTCDateTime())
        later = known if state.last_activity_at is None else case((known > ours, known), else_=ours)
        with write_transaction(self.engine) as conn:
            # Recorded under the conversation's customer now, which a merge or a split may have
            # changed since the workflow (`holder`) opened it; a new one under the survivor of
            # a customer merged into another.
            holder = customer_id
            customer_id = conn.execute(
                select(conversations.c.customer_id).where(
                    conversations.c.conversation_id == state.conversation_id
                )
            ).scalar_one_or_none() or customers.survivor(conn, holder)
            conn.execute(
                upsert(self.engine, conversations)
                .values(
                    conversation_id=state.conversation_id,
                    customer_id=customer_id,
                    workflow_customer_id=None if holder == customer_id else holder,
                    last_activity_at=state.last_activity_at,
                    **row,
                )
                .on_conflict_do_update(
                    index_elements=["conversation_id"], set_={**row, "last_activity_at": later}
                )
            )
            for event in events:
                conn.execute(
                    upsert(self.engine, conversation_events)
                    .values(
                        event_id=event.event_id,
                        conversation_id=event.conversation_id,
                        customer_id=customer_id,
                        kind=event.kind,
                        at=event.at,
                        seq=event.seq,
                        detail=event.detail,
                        actor=event.actor,
                    )
                    .on_conflict_do_nothing()
                )
            if interaction_ids:
                lifecycle.complete_threaded(
                    conn, interaction_ids, state.conversation_id, datetime.now(UTC)
                )
            outbound.conversation_changed(conn, customer_id, state, events)

    def claim_outbox(self, reply: SendReplyInput) -> dict[str, Any]:
        """The outbox row of a reply, written on the first attempt and read on every retry."""
        with write_transaction(self.engine) as conn:
            conn.execute(
                upsert(self.engine, outbox)
                .values(
                    outbox_id=reply.outbox_id,
                    conversation_id=reply.conversation_id,
                    channel=reply.channel,
                    to_address=reply.to_address,
                    body=reply.text,
                    subject=reply.subject,
                    status="pending",
                    created_at=datetime.now(UTC),
                )
                .on_conflict_do_nothing()
            )
            return dict(
                conn.execute(select(outbox).where(outbox.c.outbox_id == reply.outbox_id))
                .mappings()
                .one()
            )

    def mark_outbox(
        self,
        outbox_id: str,
        status: str,
        provider_message_id: str | None = None,
        error: str | None = None,
    ) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                outbox.update()
                .where(outbox.c.outbox_id == outbox_id)
                .values(
                    status=status,
                    provider_message_id=provider_message_id,
                    error=error,
                    sent_at=datetime.now(UTC) if status == "sent" else None,
                )
            )

    def get(self, conversation_id: str) -> dict[str, Any] | None:
        """The conversation with its events (oldest first) and its interactions' ids;
        `workflow_customer_id` is the customer whose conversation workflow holds it."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(conversations).where(conversations.c.conversation_id == conversation_id)
                )
                .mappings()
                .one_or_none()
            )
            if row is None:
                return None
            events = conn.execute(
                select(conversation_events)
                .where(conversation_events.c.conversation_id == conversation_id)
                .order_by(conversation_events.c.at, conversation_events.c.seq)
            ).mappings()
            threaded = conn.execute(
                select(interactions.c.interaction_id)
                .where(interactions.c.conversation_id == conversation_id)
                .order_by(interactions.c.occurred_at)
            ).scalars()
            return {
                **dict(row),
                "workflow_customer_id": row["workflow_customer_id"] or row["customer_id"],
                "events": [
                    {
                        "kind": e["kind"],
                        "at": e["at"],
                        "detail": e["detail"],
                        "actor": e["actor"],
                    }
                    for e in events
                ],
                "interaction_ids": list(threaded),
            }

    def list(
        self, status: str | None, queue: str | None, limit: int, after: Position | None = None
    ) -> list[dict[str, Any]]:
        """A queue view: conversations by status and queue, oldest opened first."""
        query = select(conversations)
        if status:
            query = query.where(conversations.c.status == status)
        if queue:
            query = query.where(conversations.c.queue == queue)
        c = conversations.c
        query = keyset(query, c.opened_at, c.conversation_id, after, limit, newest_first=False)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]
