"""The audit log: who changed what, when, and how it ended.

Rows hold the actor, role, method, route template, target id, outcome status and optional
non-personal detail (counts): never a body, an address or a message's text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Engine, delete, select
from sqlalchemy.engine import Connection

from switchboard.store.engine import write_transaction
from switchboard.store.paging import Position, keyset
from switchboard.store.tables import audit_log


class HasEngine(Protocol):
    """A `Store` (or anything else holding the process's engine)."""

    engine: Engine


@dataclass(frozen=True)
class AuditEntry:
    method: str
    route: str
    status: int
    actor: str | None = None
    role: str | None = None
    target: str | None = None
    detail: dict[str, int | str] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


def insert(conn: Connection, entry: AuditEntry) -> None:
    """Write `entry` in the caller's transaction (a change the system makes by itself is
    recorded with it, or not at all)."""
    conn.execute(
        audit_log.insert().values(
            at=entry.at,
            actor=entry.actor,
            role=entry.role,
            method=entry.method,
            route=entry.route,
            target=entry.target,
            status=entry.status,
            detail=entry.detail or None,
        )
    )


class AuditLog:
    """The `audit_log` table. The API records through a middleware, CLI commands directly:
    `AuditLog(store).record(AuditEntry("CLI", "erase", 0, actor="cli:root", target=id))`, or
    with the same fields as keywords: `AuditLog(store).record(method="CLI", route="erase", ...)`.
    """

    def __init__(self, bind: Engine | HasEngine) -> None:
        self.engine: Engine = bind if isinstance(bind, Engine) else bind.engine

    def record(self, entry: AuditEntry | None = None, /, **fields: Any) -> None:
        entry = entry or AuditEntry(**fields)
        with write_transaction(self.engine) as conn:
            insert(conn, entry)

    def expire(self, before: datetime) -> int:
        """Delete the rows older than `before` (retention); how many went."""
        with write_transaction(self.engine) as conn:
            return int(conn.execute(delete(audit_log).where(audit_log.c.at < before)).rowcount)

    def list(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
        limit: int = 100,
        after: Position | None = None,
    ) -> list[dict[str, Any]]:
        """Entries newest first, optionally in [since, until) and of one actor."""
        query = select(audit_log)
        if since is not None:
            query = query.where(audit_log.c.at >= since)
        if until is not None:
            query = query.where(audit_log.c.at < until)
        if actor is not None:
            query = query.where(audit_log.c.actor == actor)
        query = keyset(query, audit_log.c.at, audit_log.c.audit_id, after, limit)
        with self.engine.connect() as conn:
            return [
                {**dict(row), "detail": row["detail"] or {}}
                for row in conn.execute(query).mappings()
            ]
