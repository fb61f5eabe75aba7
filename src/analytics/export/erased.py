"""Exports after an erasure or a retention run: the partitions that held the deleted rows are
rewritten by the next export, and every copy older than it (snapshots, staging) is removed.

An export hard-links the partitions it does not rewrite from the published snapshot, so the
erased rows live on in the older snapshots until those go: the export that consumed the
rewrites deletes them once it is published.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from switchboard.store.tables import export_rewrites


@dataclass(frozen=True)
class Rewrites:
    """Interaction partitions (day, channel) and the days of the other day-partitioned
    datasets (by dataset name) to rewrite, requested up to `until`."""

    partitions: set[tuple[date, str]] = field(default_factory=set)
    until: datetime | None = None
    days: dict[str, set[date]] = field(default_factory=dict)


def pending(engine: Engine) -> Rewrites:
    with engine.connect() as conn:
        rows = conn.execute(
            select(export_rewrites.c.dataset, export_rewrites.c.day, export_rewrites.c.part)
        ).all()
        until = conn.execute(select(func.max(export_rewrites.c.requested_at))).scalar_one()
    days: dict[str, set[date]] = {}
    for dataset, day, _ in rows:
        if dataset != "interactions":
            days.setdefault(dataset, set()).add(day)
    partitions = {(day, part) for dataset, day, part in rows if dataset == "interactions"}
    return Rewrites(partitions, until, days)


def settle(engine: Engine, root: Path, published: Path, until: datetime) -> None:
    """After `published` (which rewrote everything requested up to `until`) went live: forget
    those requests and remove every other snapshot and staging copy."""
    for old in (root / "snapshots").iterdir():
        if old.resolve() != published.resolve():
            shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(root / "staging", ignore_errors=True)
    with engine.begin() as conn:
        conn.execute(export_rewrites.delete().where(export_rewrites.c.requested_at <= until))
