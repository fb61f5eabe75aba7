"""The operational store: idempotent writes for the activities, reads for the API.

Every write is safe to repeat: activities are retried, and a provider may deliver the same
message again after Temporal has forgotten the first workflow.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Engine, and_, or_, select, text
from sqlalchemy.engine import Connection

from switchboard.contract import (
    Channel,
    CustomerInteraction,
    Direction,
    Identity,
    PersistResult,
    RawEvent,
    Status,
)
from switchboard.merge import merge_interaction, rederive_interaction
from switchboard.store import conversation_threading, customers, lifecycle, outbound, suggestions
from switchboard.store import media as files
from switchboard.store.engine import create_store_engine, upsert, write_transaction
from switchboard.store.paging import Position, keyset
from switchboard.store.rows import (
    changed_columns,
    interaction_from_row,
    interaction_row,
    raw_event_from_row,
    raw_event_row,
)
from switchboard.store.tables import customers as customers_table
from switchboard.store.tables import interactions, media, raw_events

# The URL of a raw event whose payload retention purged (it can no longer be reprocessed).
PURGED = "purged:"


def _now() -> datetime:
    return datetime.now(UTC)


class LastMessage(NamedTuple):
    channel: Channel
    at: datetime
    from_address: str


class Store:
    """The store of one process: built once, shared by every activity or request."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str, busy_timeout_s: float = 5.0) -> Store:
        return cls(create_store_engine(url, busy_timeout_s))

    def migrate(self) -> None:
        # Imported here: Alembic is a second or more of start-up, and the ingress (restarted
        # by `up` while providers wait) never migrates.
        from switchboard.store import migrate

        migrate.upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        """Raise if the store cannot answer a query."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    # --- writes (activities) -------------------------------------------------------------

    def resolve_customer(self, identity: Identity, claim_key: str | None = None) -> str:
        """Return the customer a message placed by `identity` belongs to (`customers.resolve`).

        A verified identity's customer is created with it on first sight; concurrent first
        sightings agree (an identity's primary key lets one insert win, and every caller
        reads back the winner). A claim gets the customer of its own `claim_key` names.
        """
        if identity.verified:
            with self.engine.connect() as conn:
                # Most messages come from people already known: a read answers, without
                # taking the store's write lock (one writer at a time on SQLite).
                found = customers.owner(conn, identity)
                if found is not None:
                    return found
        with write_transaction(self.engine) as conn:
            return customers.resolve(conn, identity, claim_key)

    def link_identity(
        self, customer_id: str, identity: Identity, actor: str | None = None
    ) -> str | None:
        """Attach an identity to a customer, verified by `actor`; return who now owns it.

        The answer differs from `customer_id` when the identity already belongs to someone
        else (nothing is changed then); None when the customer does not exist or was merged.
        """
        with write_transaction(self.engine) as conn:
            found = customers.get(conn, customer_id)
            if found is None or found["merged_into"]:
                return None
            customers.claim(conn, identity, customer_id, linked_by=actor)
            return customers.owner(conn, identity)

    def find_interaction_key(
        self, provider: str, provider_message_id: str
    ) -> tuple[str, str] | None:
        """(interaction_id, customer_id) of the interaction stored under the provider's key."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(interactions.c.interaction_id, interactions.c.customer_id).where(
                    interactions.c.provider == provider,
                    interactions.c.provider_message_id == provider_message_id,
                )
            ).one_or_none()
        return None if found is None else (str(found[0]), str(found[1]))

    def persist_interaction(
        self, interaction: CustomerInteraction, raw: RawEvent | None, rederive: bool = False
    ) -> PersistResult:
        """Store the interaction, or merge it into the one already stored under its key.

        The first event of a message or call creates its row, whichever event that is; later
        ones fill in what is missing and move statuses forward (`switchboard.merge`). The raw
        event is archived in the same transaction. Repeating a call changes nothing.

        `rederive` (reprocessing an archived event with new normalization or routing): what
        the event yields now replaces what it yielded before, where it yields anything, and
        the event that created the row re-derives its route.
        """
        with write_transaction(self.engine) as conn:
            if raw is not None:  # our own replies have no webhook to archive
                self._archive(conn, raw, error=None)
                if rederive:  # it failed before, perhaps: it no longer does
                    conn.execute(raw_events.update().where(*_raw_key(raw)).values(error=None))
            row = interaction_row(interaction, _now())
            # RETURNING, not rowcount: psycopg reports -1 rows for INSERT … ON CONFLICT.
            inserted = (
                conn.execute(
                    upsert(self.engine, interactions)
                    .values(**row)
                    .on_conflict_do_nothing()
                    .returning(interactions.c.interaction_id)
                ).first()
                is not None
            )
            key = (
                interactions.c.provider == interaction.provider,
                interactions.c.provider_message_id == interaction.provider_message_id,
            )
            stored = (
                conn.execute(select(interactions).where(*key).with_for_update()).mappings().one()
            )
            revived = awaiting_thread = False
            to_copy = files.link(conn, stored["interaction_id"], interaction, raw, _now())
            threaded_into = None
            if inserted:
                outbound.interaction_persisted(conn, dict(stored))
                suggestions.suggest(
                    conn,
                    stored["interaction_id"],
                    stored["customer_id"],
                    interaction.claimed_identities,
                )
            else:
                current = interaction_from_row(stored)
                awaiting_thread = current.status is Status.PROCESSING
                # A `failed` stand-in (lifecycle.record_failed) stored at last, by a retry:
                # what the event yields now replaces it, and it goes on as a new interaction.
                revived = (
                    current.status is Status.FAILED and interaction.status is not Status.FAILED
                )
                merged = (
                    replace(interaction, interaction_id=current.interaction_id)
                    if revived
                    else merge_interaction(current, interaction)
                )
                if rederive and not revived:
                    merged = rederive_interaction(merged, interaction)
                changes = changed_columns(current, merged)
                if changes:
                    now = _now()
                    conn.execute(
                        interactions.update().where(*key).values(**changes, updated_at=now)
                    )
                    outbound.interaction_status_changed(
                        conn, dict(stored), {**stored, **changes, "updated_at": now}, now
                    )
            if inserted or revived or awaiting_thread:
                threaded_into = conversation_threading.thread_persisted(conn, interaction, stored)
        return PersistResult(
            interaction_id=stored["interaction_id"],
            persisted_at=stored["persisted_at"],
            created=inserted or revived,
            awaiting_thread=awaiting_thread and threaded_into is None,
            media_to_copy=to_copy,
            threaded_into=threaded_into,
        )

    def record_failure(
        self, raw: RawEvent, reason: str, interaction: CustomerInteraction | None = None
    ) -> None:
        """Archive a raw event that could not be processed, with the reason, so it is not lost;
        and the `interaction` the store refused, if any, as a `failed` row."""
        with write_transaction(self.engine) as conn:
            self._archive(conn, raw, error=reason)
            if interaction is not None:
                lifecycle.record_failed(conn, interaction, _now())
                # Linked to the `failed` row (its own, or one stored before under the key),
                # so erasure and retention find the raw event with it.
                stored = conn.execute(
                    select(interactions.c.interaction_id).where(
                        interactions.c.provider == interaction.provider,
                        interactions.c.provider_message_id == interaction.provider_message_id,
                    )
                ).scalar_one_or_none()
                if stored is not None:
                    conn.execute(
                        raw_events.update()
                        .where(*_raw_key(raw), raw_events.c.interaction_id.is_(None))
                        .values(interaction_id=stored)
                    )
            # Reprocessed and still failing: the reason is the current code's.
            conn.execute(
                raw_events.update()
                .where(*_raw_key(raw), raw_events.c.error.is_not(None))
                .values(error=reason)
            )

    def find_raw_event(self, provider: str, event_key: str) -> tuple[RawEvent, str | None] | None:
        """The archived raw event of a provider's event key (its first kind), with its error."""
        query = (
            select(raw_events)
            .where(raw_events.c.provider == provider, raw_events.c.event_key == event_key)
            .order_by(raw_events.c.raw_event_id)
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return (raw_event_from_row(row), row["error"]) if row else None

    def raw_events_between(
        self,
        since: datetime,
        until: datetime | None = None,
        only_failed: bool = False,
        page: int = 1000,
    ) -> Iterator[tuple[RawEvent, str | None]]:
        """Archived raw events received in [since, until), oldest first, with their errors.

        Read a page at a time (keyset on the id), so ten thousand events are not one query.
        """
        after = 0
        while True:
            query = (
                select(raw_events)
                .where(raw_events.c.received_at >= since, raw_events.c.raw_event_id > after)
                .order_by(raw_events.c.raw_event_id)
                .limit(page)
            )
            if until is not None:
                query = query.where(raw_events.c.received_at < until)
            if only_failed:
                query = query.where(raw_events.c.error.is_not(None))
            with self.engine.connect() as conn:
                rows = conn.execute(query).mappings().all()
            for row in rows:
                yield raw_event_from_row(row), row["error"]
            if len(rows) < page:
                return
            after = rows[-1]["raw_event_id"]

    def _archive(self, conn: Connection, raw: RawEvent, error: str | None) -> None:
        # Raw events are immutable: the first delivery is kept, later ones change nothing.
        conn.execute(
            upsert(self.engine, raw_events)
            .values(**raw_event_row(raw, error))
            .on_conflict_do_nothing()
        )

    # --- retention -----------------------------------------------------------------------

    def purge_payloads(self, before: datetime) -> int:
        """Empty the payloads of raw events received before `before`; the rows stay, counted."""
        with write_transaction(self.engine) as conn:
            purging = (raw_events.c.received_at < before, raw_events.c.url != PURGED)
            # A raw email's MIME is its payload: its link goes, and the blob with the next
            # `expire_blobs`.
            conn.execute(
                media.delete().where(
                    media.c.kind == files.RAW,
                    media.c.interaction_id.in_(select(raw_events.c.interaction_id).where(*purging)),
                )
            )
            result = conn.execute(
                raw_events.update().where(*purging).values(fields=[], headers=[], url=PURGED)
            )
        return int(result.rowcount)

    # --- reads (API) ---------------------------------------------------------------------

    def find_customer(self, identity: Identity) -> dict[str, Any] | None:
        """The customer an identity belongs to, with all of the customer's identities."""
        with self.engine.connect() as conn:
            customer_id = customers.owner(conn, identity)
            return None if customer_id is None else customers.get(conn, customer_id)

    def get_customer(self, customer_id: str) -> dict[str, Any] | None:
        """The customer as stored; a merged one names its survivor in `merged_into`."""
        with self.engine.connect() as conn:
            return customers.get(conn, customer_id)

    def list_customers(self, limit: int, after: Position | None = None) -> list[dict[str, Any]]:
        """Customers newest first, each with its identities (merged ones are their survivor's)."""
        c = customers_table.c
        query = keyset(
            select(c.customer_id).where(c.merged_into.is_(None)),
            c.created_at,
            c.customer_id,
            after,
            limit,
        )
        with self.engine.connect() as conn:
            ids = conn.execute(query).scalars().all()
            return [found for i in ids if (found := customers.get(conn, i)) is not None]

    def survivor(self, customer_id: str) -> str:
        """The customer holding `customer_id`'s record now (itself unless merged)."""
        with self.engine.connect() as conn:
            return customers.survivor(conn, customer_id)

    def list_interactions(
        self, customer_id: str, limit: int, before: tuple[datetime, str] | None = None
    ) -> list[CustomerInteraction]:
        """A customer's interactions, newest first, strictly older than `before`."""
        query = select(interactions).where(interactions.c.customer_id == customer_id)
        if before is not None:
            at, interaction_id = before
            query = query.where(
                or_(
                    interactions.c.occurred_at < at,
                    and_(
                        interactions.c.occurred_at == at,
                        interactions.c.interaction_id < interaction_id,
                    ),
                )
            )
        query = query.order_by(
            interactions.c.occurred_at.desc(), interactions.c.interaction_id.desc()
        ).limit(limit)
        with self.engine.connect() as conn:
            return [interaction_from_row(row) for row in conn.execute(query).mappings()]

    def last_inbound(self, customer_id: str, channel: Channel | None = None) -> LastMessage | None:
        """The customer's latest message (on `channel`, if given): its channel, time and sender."""
        query = select(
            interactions.c.channel, interactions.c.occurred_at, interactions.c.from_address
        ).where(
            interactions.c.customer_id == customer_id,
            interactions.c.direction == Direction.INBOUND,
        )
        if channel is not None:
            query = query.where(interactions.c.channel == channel)
        query = query.order_by(interactions.c.occurred_at.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else LastMessage(Channel(row[0]), row[1], row[2])

    def get_interaction(self, interaction_id: str) -> CustomerInteraction | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(interactions).where(interactions.c.interaction_id == interaction_id)
                )
                .mappings()
                .one_or_none()
            )
        return None if row is None else interaction_from_row(row)


def _raw_key(raw: RawEvent) -> tuple[Any, ...]:
    return (
        raw_events.c.provider == raw.provider,
        raw_events.c.kind == raw.kind,
        raw_events.c.event_key == raw.event_key,
    )
