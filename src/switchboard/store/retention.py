"""Retention: every kind of row that can hold personal data is deleted once older than the limit.

One age limit (`SWITCHBOARD_RETENTION_DAYS`) for interactions and, by their links, the raw events
they came from and their files, resolved conversations and their events, outbox replies, events
out and their deliveries, and identities (with their customer) that no interaction names any
more. A conversation still open is live work and stays until it is resolved and has aged. What
was deleted from the exports' partitions is requested as a rewrite (`export_rewrites`), so the
next export drops it and removes the older copies, as after an erasure. Blobs go by
`expire_blobs` once no file of an interaction names them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, String, and_, cast, exists, or_, select

from switchboard.blobs import PREFIX, BlobStore
from switchboard.blobs import references as blob_references
from switchboard.store.engine import upsert, write_transaction
from switchboard.store.tables import (
    conversation_events,
    conversations,
    customers,
    deliveries,
    export_rewrites,
    idempotency_keys,
    identities,
    interactions,
    media,
    outbound_events,
    outbox,
    rate_limit_windows,
    raw_events,
)

# The datasets (other than interactions) whose day partitions a retention run asks to rewrite.
EVENTS_DATASET = "conversation_events"
RAW_COUNTS_DATASET = "raw_event_counts"
WHOLE_DAY = "*"


@dataclass(frozen=True)
class Expired:
    """What one retention run deleted, by kind (counts only)."""

    interactions: int = 0
    raw_events: int = 0
    media: int = 0
    conversations: int = 0
    conversation_events: int = 0
    outbox: int = 0
    outbound_events: int = 0
    deliveries: int = 0
    identities: int = 0
    customers: int = 0
    idempotency_keys: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def expire_rows(engine: Engine, before: datetime) -> Expired:
    """Delete every row older than `before` (one transaction), and ask the export to follow."""
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        partitions = {
            (at.date(), channel)
            for at, channel in conn.execute(
                select(interactions.c.occurred_at, interactions.c.channel).where(
                    interactions.c.received_at < before
                )
            )
        }
        raw_days = _days(conn, raw_events.c.received_at, raw_events.c.received_at < before)
        old_conversations = select(conversations.c.conversation_id).where(
            conversations.c.updated_at < before, conversations.c.status == "resolved"
        )
        gone_events = or_(
            conversation_events.c.conversation_id.in_(old_conversations),
            # Events whose conversation is gone already (an erasure, an earlier run).
            and_(
                conversation_events.c.at < before,
                ~exists().where(
                    conversations.c.conversation_id == conversation_events.c.conversation_id
                ),
            ),
        )
        event_days = _days(conn, conversation_events.c.at, gone_events)
        counts: dict[str, int] = {
            "conversation_events": conn.execute(
                conversation_events.delete().where(gone_events)
            ).rowcount,
            "outbox": conn.execute(
                outbox.delete().where(
                    or_(
                        outbox.c.created_at < before,
                        outbox.c.conversation_id.in_(old_conversations),
                    )
                )
            ).rowcount,
        }
        counts["conversations"] = conn.execute(
            conversations.delete().where(conversations.c.conversation_id.in_(old_conversations))
        ).rowcount
        old_events = select(outbound_events.c.event_id).where(outbound_events.c.created_at < before)
        counts["deliveries"] = conn.execute(
            deliveries.delete().where(
                or_(deliveries.c.created_at < before, deliveries.c.event_id.in_(old_events))
            )
        ).rowcount
        counts["outbound_events"] = conn.execute(
            outbound_events.delete().where(outbound_events.c.created_at < before)
        ).rowcount
        # An interaction's raw events and files go with it (by their links), later callbacks
        # included; raw events that never became one go by their own age.
        expiring = select(interactions.c.interaction_id).where(interactions.c.received_at < before)
        counts["media"] = conn.execute(
            media.delete().where(media.c.interaction_id.in_(expiring))
        ).rowcount
        counts["raw_events"] = conn.execute(
            raw_events.delete().where(
                or_(
                    raw_events.c.received_at < before,
                    raw_events.c.interaction_id.in_(expiring),
                )
            )
        ).rowcount
        counts["interactions"] = conn.execute(
            interactions.delete().where(interactions.c.received_at < before)
        ).rowcount
        counts |= _expire_customers(conn, before)
        # Idempotency keys live 24 h and rate-limit windows a minute, whatever the retention.
        counts["idempotency_keys"] = conn.execute(
            idempotency_keys.delete().where(idempotency_keys.c.expires_at <= now)
        ).rowcount
        conn.execute(
            rate_limit_windows.delete().where(
                rate_limit_windows.c.window_start < now - timedelta(days=1)
            )
        )
        _request_rewrites(conn, now, "interactions", partitions)
        _request_rewrites(conn, now, EVENTS_DATASET, {(d, WHOLE_DAY) for d in event_days})
        _request_rewrites(conn, now, RAW_COUNTS_DATASET, {(d, WHOLE_DAY) for d in raw_days})
    return Expired(**counts)


def expire_blobs(engine: Engine, blobs: BlobStore, before: datetime) -> int:
    """Delete the blobs written before `before` that no interaction's files (`media`) name,
    nor a raw event that never became an interaction (a malformed email, kept for a retry).

    Content-addressed blobs are shared: an old one a recent message names again stays. The
    age keeps a blob just written, whose message is not stored yet, from being taken for unused.
    """
    candidates = set(blobs.written_before(before))
    if not candidates:
        return 0
    with engine.connect() as conn:
        named = {ref for (ref,) in conn.execute(select(media.c.blob_ref).distinct()) if ref}
        unlinked = select(raw_events.c.fields).where(
            raw_events.c.interaction_id.is_(None),
            cast(raw_events.c.fields, String).like(f"%{PREFIX}%"),
        )
        for (value,) in conn.execute(unlinked):
            named.update(blob_references(json.dumps(value)))
    return sum(blobs.delete(ref) for ref in sorted(candidates - named))


def _expire_customers(conn: Connection, before: datetime) -> dict[str, int]:
    """Identities no interaction names any more, and customers left with nothing."""
    has_interactions = exists().where(interactions.c.customer_id == identities.c.customer_id)
    deleted = conn.execute(
        identities.delete().where(identities.c.created_at < before, ~has_interactions)
    ).rowcount
    referenced = or_(
        exists().where(identities.c.customer_id == customers.c.customer_id),
        exists().where(interactions.c.customer_id == customers.c.customer_id),
        exists().where(conversations.c.customer_id == customers.c.customer_id),
    )
    gone = conn.execute(
        customers.delete().where(customers.c.created_at < before, ~referenced)
    ).rowcount
    return {"identities": deleted, "customers": gone}


def _days(conn: Connection, column: Any, condition: Any) -> set[date]:
    return {at.date() for (at,) in conn.execute(select(column).where(condition).distinct())}


def _request_rewrites(
    conn: Connection, now: datetime, dataset: str, partitions: set[tuple[date, str]]
) -> None:
    for day, part in partitions:
        conn.execute(
            upsert(conn, export_rewrites)
            .values(dataset=dataset, day=day, part=part, requested_at=now)
            .on_conflict_do_nothing()
        )
