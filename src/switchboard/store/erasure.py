"""Erasure of one customer from the store, and the tombstones that keep them erased.

Everything the store holds of the customer goes in one transaction: interactions and, by
their links (`raw_events.interaction_id`, `media`), the raw events they came from and their
files; identities, conversations, their events, the outbox bodies of their replies, and the
events out about them with their deliveries (bodies and receivers' excerpts). Then the blobs
no other interaction names, and the originals at Twilio (MMS media, recordings) when the
account's credentials are set. What stays is pseudonymous and unlinkable: a keyed hash of
each provider key (so a redelivery of an erased event is dropped at the door) and the export
partitions that held their rows (so the next export rewrites them).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, String, cast, func, or_, select

from switchboard.blobs import BlobStore
from switchboard.contract import EventType
from switchboard.store.engine import upsert, write_transaction
from switchboard.store.media import AT_TWILIO
from switchboard.store.retention import EVENTS_DATASET, WHOLE_DAY
from switchboard.store.tables import (
    conversation_events,
    conversations,
    customer_changes,
    customers,
    deliveries,
    erased_keys,
    export_rewrites,
    identities,
    interactions,
    media,
    merge_suggestions,
    outbound_events,
    outbox,
    raw_events,
)
from switchboard.twilio_files import TwilioFiles


@dataclass(frozen=True)
class ErasureCounts:
    """What one erasure removed, by kind; counts only, never what the rows held."""

    interactions: int = 0
    raw_events: int = 0
    identities: int = 0
    conversations: int = 0
    conversation_events: int = 0
    outbox_bodies: int = 0
    outbound_events: int = 0
    deliveries: int = 0
    blobs: int = 0
    media: int = 0
    # The originals at Twilio (MMS media, recordings): deleted there, or not (no credentials,
    # an error), to be deleted by hand.
    provider_files_deleted: int = 0
    provider_files_not_deleted: int = 0
    workflows: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def tombstone(key: bytes, provider: str, provider_key: str) -> str:
    """The keyed hash kept of an erased provider key (message id or event key)."""
    message = f"{provider}\x00{provider_key}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class Erasure:
    """Erases customers from the store and tells whether a provider event was erased."""

    def __init__(
        self, engine: Engine, key: bytes, blobs: BlobStore, twilio: TwilioFiles | None = None
    ) -> None:
        self.engine = engine
        self.key = key
        self.blobs = blobs
        self.twilio = twilio

    def is_erased(self, provider: str, event_key: str, message_key: str | None = None) -> bool:
        """Whether the event, or the message it is about (`message_key`, or the start of a
        Twilio key: `<sid>:status:…`), was erased: a new event about an erased message (a
        late SendGrid `open`, a push status) is dropped like a redelivery."""
        keys = {event_key, event_key.split(":", 1)[0]} | ({message_key} if message_key else set())
        candidates = {tombstone(self.key, provider, key) for key in keys}
        with self.engine.connect() as conn:
            found = conn.execute(
                select(erased_keys.c.digest).where(erased_keys.c.digest.in_(candidates)).limit(1)
            ).first()
        return found is not None

    def merged_into(self, customer_id: str) -> list[str]:
        """The ids of the customers merged into this one (their histories carry those ids)."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(customers.c.customer_id).where(customers.c.merged_into == customer_id)
                ).scalars()
            )

    def erase(self, customer_id: str) -> ErasureCounts | None:
        """Remove the customer's rows, files and unshared blobs; None if there is no such
        customer."""
        now = datetime.now(UTC)
        with write_transaction(self.engine) as conn:
            if (
                conn.execute(
                    select(customers.c.customer_id).where(customers.c.customer_id == customer_id)
                ).first()
                is None
            ):
                return None
            theirs = select(interactions.c.interaction_id).where(
                interactions.c.customer_id == customer_id
            )
            rows = conn.execute(
                select(
                    interactions.c.provider,
                    interactions.c.provider_message_id,
                    interactions.c.occurred_at,
                    interactions.c.channel,
                ).where(interactions.c.customer_id == customer_id)
            ).all()
            raw = conn.execute(
                select(raw_events.c.provider, raw_events.c.event_key).where(
                    raw_events.c.interaction_id.in_(theirs)
                )
            ).all()
            files = conn.execute(
                select(media.c.kind, media.c.blob_ref, media.c.source_url).where(
                    media.c.interaction_id.in_(theirs)
                )
            ).all()
            blobs = {f.blob_ref for f in files if f.blob_ref}
            at_twilio = sorted(
                {f.source_url for f in files if f.kind in AT_TWILIO and f.source_url}
            )
            conversation_ids = select(conversations.c.conversation_id).where(
                conversations.c.customer_id == customer_id
            )
            event_days = {
                at.date()
                for (at,) in conn.execute(
                    select(conversation_events.c.at)
                    .where(conversation_events.c.customer_id == customer_id)
                    .distinct()
                )
            }
            counts: dict[str, Any] = _delete_events_out(conn, conversation_ids, theirs)
            counts |= {
                "outbox_bodies": conn.execute(
                    outbox.delete().where(outbox.c.conversation_id.in_(conversation_ids))
                ).rowcount,
                "conversation_events": conn.execute(
                    conversation_events.delete().where(
                        conversation_events.c.customer_id == customer_id
                    )
                ).rowcount,
                "media": conn.execute(
                    media.delete().where(media.c.interaction_id.in_(theirs))
                ).rowcount,
                "raw_events": conn.execute(
                    raw_events.delete().where(raw_events.c.interaction_id.in_(theirs))
                ).rowcount,
            }
            counts["conversations"] = conn.execute(
                conversations.delete().where(conversations.c.customer_id == customer_id)
            ).rowcount
            counts["interactions"] = conn.execute(
                interactions.delete().where(interactions.c.customer_id == customer_id)
            ).rowcount
            counts["identities"] = conn.execute(
                identities.delete().where(identities.c.customer_id == customer_id)
            ).rowcount
            _delete_merges(conn, customer_id)
            conn.execute(customers.delete().where(customers.c.customer_id == customer_id))
            digests = {tombstone(self.key, r.provider, r.provider_message_id) for r in rows}
            digests |= {tombstone(self.key, r.provider, r.event_key) for r in raw}
            for digest in digests:
                conn.execute(
                    upsert(conn, erased_keys)
                    .values(digest=digest, erased_at=now)
                    .on_conflict_do_nothing()
                )
            rewrites = {("interactions", r.occurred_at.date(), r.channel) for r in rows}
            rewrites |= {(EVENTS_DATASET, day, WHOLE_DAY) for day in event_days}
            for dataset, day, part in rewrites:
                conn.execute(
                    upsert(conn, export_rewrites)
                    .values(dataset=dataset, day=day, part=part, requested_at=now)
                    .on_conflict_do_nothing()
                )
            shared = {ref for ref in blobs if _still_referenced(conn, ref)}
        removed = sum(self.blobs.delete(ref) for ref in sorted(blobs - shared))
        deleted = sum(self.twilio.delete(url) for url in at_twilio) if self.twilio else 0
        return ErasureCounts(
            **counts,
            blobs=removed,
            provider_files_deleted=deleted,
            provider_files_not_deleted=len(at_twilio) - deleted,
        )


def _delete_merges(conn: Connection, customer_id: str) -> None:
    """What merges and splits left of the customer: the ids merged into it, suggestions
    naming it, the log of its merges and splits, and their events out."""
    conn.execute(customers.delete().where(customers.c.merged_into == customer_id))
    for table in (merge_suggestions, customer_changes):
        conn.execute(
            table.delete().where(
                or_(table.c.customer_id == customer_id, table.c.other_customer_id == customer_id)
            )
        )
    about = select(outbound_events.c.event_id).where(
        outbound_events.c.type.in_([str(EventType.CUSTOMER_MERGED), str(EventType.CUSTOMER_SPLIT)]),
        cast(outbound_events.c.body, String).like(f"%{customer_id}%"),
    )
    conn.execute(deliveries.delete().where(deliveries.c.event_id.in_(about)))
    conn.execute(outbound_events.delete().where(outbound_events.c.event_id.in_(about)))


def _delete_events_out(
    conn: Connection, conversation_ids: Select[Any], interaction_ids: Select[Any]
) -> dict[str, int]:
    """The events out about the customer's conversations or interactions, and their deliveries
    (run before those rows go: the events are found through them)."""
    about = select(outbound_events.c.event_id).where(
        or_(
            outbound_events.c.conversation_id.in_(conversation_ids),
            outbound_events.c.interaction_id.in_(interaction_ids),
        )
    )
    removed = conn.execute(deliveries.delete().where(deliveries.c.event_id.in_(about))).rowcount
    return {
        "deliveries": removed,
        "outbound_events": conn.execute(
            outbound_events.delete().where(outbound_events.c.event_id.in_(about))
        ).rowcount,
    }


def _still_referenced(conn: Connection, ref: str) -> bool:
    """Content-addressed blobs can be shared: one another interaction's files still name stays
    (as does one a raw event that never became an interaction names: a malformed email)."""
    if conn.execute(select(media.c.blob_ref).where(media.c.blob_ref == ref).limit(1)).first():
        return True
    unlinked = conn.execute(
        select(func.count()).where(
            raw_events.c.interaction_id.is_(None),
            cast(raw_events.c.fields, String).like(f"%{ref}%"),
        )
    ).scalar_one()
    return bool(unlinked)
