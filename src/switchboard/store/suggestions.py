"""Merge suggestions: an interaction claimed an identity that another customer owns.

Recorded by the store when it persists the interaction (`suggest`), listed and dismissed by
agents (`MergeSuggestions`); a merge of the two answers their suggestions (`store.merges`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection

from switchboard.contract import Identity
from switchboard.store import customers as customer_rows
from switchboard.store.engine import upsert, write_transaction
from switchboard.store.paging import Position, keyset
from switchboard.store.tables import merge_suggestions

_SUGGESTIONS = uuid.UUID("9a0d3f4e-6b0c-4d7a-a1e2-2f8e5c7d9b31")


def suggest(
    conn: Connection, interaction_id: str, customer_id: str, claims: Sequence[Identity]
) -> int:
    """Record a merge suggestion for each claim naming an identity another customer owns,
    unless one was made for the two and that kind already (an app that sends the same phone
    with every event makes one suggestion, and one dismissed stays dismissed)."""
    made = 0
    for claim in claims:
        owner = customer_rows.owner(conn, claim)
        if owner is None or owner == customer_id:
            continue
        known = conn.execute(
            select(merge_suggestions.c.suggestion_id)
            .where(
                merge_suggestions.c.customer_id == customer_id,
                merge_suggestions.c.other_customer_id == owner,
                merge_suggestions.c.claim_kind == str(claim.kind),
            )
            .limit(1)
        ).first()
        if known is not None:
            continue
        suggestion_id = str(uuid.uuid5(_SUGGESTIONS, f"{interaction_id}:{owner}:{claim.kind}"))
        conn.execute(
            upsert(conn, merge_suggestions)
            .values(
                suggestion_id=suggestion_id,
                customer_id=customer_id,
                other_customer_id=owner,
                claim_kind=str(claim.kind),
                interaction_id=interaction_id,
                created_at=datetime.now(UTC),
            )
            .on_conflict_do_nothing()
        )
        made += 1
    return made


class MergeSuggestions:
    """Merge suggestions over the process's engine (the API's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def suggestions(
        self, limit: int, include_dismissed: bool = False, after: Position | None = None
    ) -> list[dict[str, Any]]:
        """Merge suggestions, newest first, after `after`; only open ones unless asked."""
        c = merge_suggestions.c
        query = select(merge_suggestions)
        if not include_dismissed:
            query = query.where(c.dismissed_at.is_(None))
        query = keyset(query, c.created_at, c.suggestion_id, after, limit)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def dismiss(self, suggestion_id: str, actor: str | None) -> dict[str, Any] | None:
        """Dismiss a suggestion (again: nothing changes); None if there is no such one."""
        with write_transaction(self.engine) as conn:
            conn.execute(
                merge_suggestions.update()
                .where(
                    merge_suggestions.c.suggestion_id == suggestion_id,
                    merge_suggestions.c.dismissed_at.is_(None),
                )
                .values(dismissed_at=datetime.now(UTC), dismissed_by=actor)
            )
            row = (
                conn.execute(
                    select(merge_suggestions).where(
                        merge_suggestions.c.suggestion_id == suggestion_id
                    )
                )
                .mappings()
                .one_or_none()
            )
        return None if row is None else dict(row)
