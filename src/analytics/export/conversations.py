"""Staging the `conversations` dataset: the outcomes of the conversations that may have changed.

A conversation's outcome changes when it has new events, when its customer writes again (FCR
looks at later contacts), when one of its interactions changed (a provider reported a call's
duration or a price: its cost), when its customer was merged or split, or with time alone while
its FCR is undecided. Those are recomputed from the store and merged with the published rows;
the rest are kept as they are. If the result does not hold as many conversations as the store
(one was erased), or the published rows lack a column (an export from before it), all are
recomputed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Engine, func, select

from analytics import resolution
from analytics.export.schemas import CONVERSATIONS_SCHEMA
from analytics.export.snapshots import Watermark
from switchboard.calendars import BusinessHours
from switchboard.costs import RateCard
from switchboard.store import merges
from switchboard.store.tables import conversation_events, conversations, interactions


def conversations_table(
    engine: Engine,
    staged_file: Path,
    previous: Watermark,
    lookback: timedelta,
    hours: BusinessHours,
    now: datetime,
    rates: RateCard | None = None,
) -> tuple[pa.Table, int]:
    """The dataset's new table, and how many conversations were recomputed for it; `rates`:
    the rate card their cost is priced by."""

    def recompute(only: set[str] | None = None) -> pa.Table:
        return resolution.conversations_table(
            engine, hours, now, CONVERSATIONS_SCHEMA, only=only, rates=rates
        )

    # No events at the last export (`events_at` None) is no reason to recompute everything:
    # every event since is new, and `_touched` finds them all.
    if (
        previous.interactions_updated_at is None
        or not staged_file.exists()
        or set(CONVERSATIONS_SCHEMA.names) - set(pq.read_schema(staged_file).names)
    ):
        table = recompute()
        return table, table.num_rows
    old = pq.read_table(staged_file, schema=CONVERSATIONS_SCHEMA)
    touched = _touched(engine, previous, lookback) | set(
        old.filter(pc.is_null(old["fcr"]))["conversation_id"].to_pylist()
    )
    fresh = recompute(touched)
    kept = old.filter(
        pc.invert(pc.is_in(old["conversation_id"], pa.array(sorted(touched), pa.string())))
    )
    table = pa.concat_tables([kept, fresh]).sort_by("conversation_id")
    if table.num_rows != _opened(engine):
        table = recompute()
        return table, table.num_rows
    return table, fresh.num_rows


def _touched(engine: Engine, previous: Watermark, lookback: timedelta) -> set[str]:
    """Conversations with events near or after the watermark, with interactions changed since
    (their cost), or whose customer wrote since."""
    assert previous.interactions_updated_at is not None
    recent = select(conversation_events.c.conversation_id).distinct()
    if previous.events_at is not None:
        recent = recent.where(conversation_events.c.at >= previous.events_at - lookback)
    with engine.connect() as conn:
        touched = set(conn.execute(recent).scalars())
        touched |= set(
            conn.execute(
                select(interactions.c.conversation_id)
                .distinct()
                .where(
                    interactions.c.updated_at > previous.interactions_updated_at,
                    interactions.c.conversation_id.is_not(None),
                )
            ).scalars()
        )
        customers = select(interactions.c.customer_id).where(
            interactions.c.updated_at > previous.interactions_updated_at,
            interactions.c.direction == "inbound",
        )
        # A merge or split changes who "the customer" is for FCR and reopens: both sides'
        # conversations are recomputed, even those none of the moved rows belonged to.
        changed = merges.changed_since(conn, previous.interactions_updated_at)
        touched |= set(
            conn.execute(
                select(conversations.c.conversation_id).where(
                    conversations.c.customer_id.in_(customers)
                    | conversations.c.customer_id.in_(sorted(changed))
                )
            ).scalars()
        )
    return touched


def _opened(engine: Engine) -> int:
    """How many conversations the store holds (those with an `opened` event)."""
    query = select(func.count(func.distinct(conversation_events.c.conversation_id))).where(
        conversation_events.c.kind == "opened"
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())
