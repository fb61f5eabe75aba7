"""An interaction's status as the pipeline moves it: processing → completed, or failed.

- `processing`: a new inbound interaction is stored by its workflow's persist step, on its
  way to its customer's conversation;
- `completed`: the conversation threaded it (the same UPDATE that sets its conversation id), or
  it needs no conversation (an outbound message, a provider's event about one);
- `failed`: the store refused its values for good (`UNSTORABLE`); a row with what could be
  kept stands for it, and the raw event keeps the rest, with the reason, for a retry;
- `received` is the message before its workflow has made it an interaction: Temporal's
  `InteractionStatus` says it, the store has no row yet (its raw event is archived with it).

Every change of status is written where the pipeline already writes: no step writes twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import String, case, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, IntegrityError

from switchboard.contract import Content, CustomerInteraction, Status
from switchboard.store import outbound
from switchboard.store.engine import upsert
from switchboard.store.rows import interaction_row
from switchboard.store.tables import interactions

# Errors a retry cannot mend: the values themselves are refused (the store being away or
# locked is an OperationalError, and retries).
PERMANENT_ERRORS = (UnicodeError, DataError, IntegrityError)


def is_permanent(error: BaseException) -> bool:
    """True when the store refused the values for good, not for the moment."""
    return isinstance(error, PERMANENT_ERRORS)


def complete_threaded(
    conn: Connection, interaction_ids: Sequence[str], conversation_id: str, now: datetime
) -> None:
    """Thread interactions into their conversation; those still `processing` are `completed`.

    One UPDATE, the one threading already made; `interaction.status_changed` for each
    interaction it completed (read first only while someone subscribes).
    """
    where = (
        interactions.c.interaction_id.in_(interaction_ids),
        interactions.c.conversation_id.is_distinct_from(conversation_id)
        | (interactions.c.status == Status.PROCESSING),
    )
    before = []
    if outbound.has_subscriptions(conn):
        before = [
            dict(row)
            for row in conn.execute(
                select(interactions).where(*where, interactions.c.status == Status.PROCESSING)
            ).mappings()
        ]
    status = case(
        (interactions.c.status == Status.PROCESSING, str(Status.COMPLETED)),
        else_=interactions.c.status,
    )
    conn.execute(
        interactions.update()
        .where(*where)
        .values(conversation_id=conversation_id, status=status, updated_at=now)
    )
    for row in before:
        after = {**row, "conversation_id": conversation_id, "status": Status.COMPLETED}
        outbound.interaction_status_changed(conn, row, {**after, "updated_at": now}, now)


def record_failed(conn: Connection, interaction: CustomerInteraction, now: datetime) -> None:
    """Keep an interaction the store refused as a `failed` row, unless one is stored already.

    Its strings are cut to what the columns take and freed of what no driver encodes, and its
    content is left out: the archived raw event holds the message as it came.
    """
    failed = replace(
        interaction,
        status=Status.FAILED,
        content=Content(),
        conversation_id=None,
        delivery_status=None,
    )
    row = {name: _storable(name, value) for name, value in interaction_row(failed, now).items()}
    conn.execute(upsert(conn, interactions).values(**row).on_conflict_do_nothing())


def _storable(name: str, value: object) -> object:
    if not isinstance(value, str):
        return value
    column = interactions.c[name].type
    limit = column.length if isinstance(column, String) else None
    # Lone surrogates become '?'; NUL, which PostgreSQL's text refuses, goes.
    text = value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    return text[:limit] if limit else text
