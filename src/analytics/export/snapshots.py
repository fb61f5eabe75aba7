"""Snapshots of the export and their atomic publication as `current`.

A new export starts as a staging copy of the published snapshot (hard links, nothing copied)
and becomes the published one when `current` is swapped to it: a reader sees the old export or
the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

KEEP_SNAPSHOTS = 3
# Under a staged export: the rows the quality gate checks where they are not whole partitions
# (the changed rows of a partition merged with its published file). Never published.
BATCH_DIR = ".batch"


@dataclass
class Watermark:
    """How far the published export has read the store."""

    interactions_updated_at: datetime | None = None
    raw_event_id: int = 0
    events_at: datetime | None = None
    # Erasures whose partitions this export rewrote, up to (`analytics.export.erased`).
    rewrites_until: datetime | None = None
    # The refused deliveries' counts, as far as they had grown.
    refused_updated_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "interactions_updated_at": _iso(self.interactions_updated_at),
            "raw_event_id": self.raw_event_id,
            "events_at": _iso(self.events_at),
            "rewrites_until": _iso(self.rewrites_until),
            "refused_updated_at": _iso(self.refused_updated_at),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Watermark:
        return cls(
            _parse(data.get("interactions_updated_at")),
            int(data.get("raw_event_id", 0)),
            _parse(data.get("events_at")),
            _parse(data.get("rewrites_until")),
            _parse(data.get("refused_updated_at")),
        )


@dataclass
class Staged:
    """An export written to its staging directory, not yet published."""

    path: Path
    watermark: Watermark
    changed: bool
    rows: dict[str, int] = field(default_factory=dict)  # rows written, by dataset
    partitions: list[str] = field(default_factory=list)  # partitions rewritten


def current(root: Path) -> Path | None:
    """The published snapshot, if there is one."""
    link = root / "current"
    return link.resolve() if link.exists() else None


def published_watermark(root: Path) -> Watermark:
    snapshot = current(root)
    if snapshot is None:
        return Watermark()
    manifest = json.loads((snapshot / "manifest.json").read_text())
    return Watermark.from_json(manifest["watermark"])


def new_staging(root: Path, empty: bool = False) -> Path:
    """A staging directory holding the published snapshot's Parquet files, as hard links.

    Its files are replaced, never written in place (the published snapshot shares them); the
    marts and the manifest are left out, to be made anew. `empty`: nothing is carried over.
    """
    staging = root / "staging" / uuid.uuid4().hex
    published = current(root)
    if published is None or empty:
        staging.mkdir(parents=True)
        return staging
    shutil.copytree(published, staging, copy_function=os.link)
    (staging / "marts.duckdb").unlink(missing_ok=True)
    (staging / "manifest.json").unlink(missing_ok=True)
    return staging


def publish(root: Path, staged: Staged, validation: list[dict[str, Any]]) -> Path:
    """Make the staged export the current one, atomically; keep the last few snapshots."""
    manifest = {
        "watermark": staged.watermark.to_json(),
        "rows": staged.rows,
        "partitions": staged.partitions,
        "published_at": datetime.now(UTC).isoformat(),
        "validation": validation,
    }
    (staged.path / "manifest.json").write_text(json.dumps(manifest, indent=2))
    shutil.rmtree(staged.path / BATCH_DIR, ignore_errors=True)
    snapshots = root / "snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
    # Names sort by time: the newest snapshots are kept.
    target = snapshots / (datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + "-" + staged.path.name)
    staged.path.rename(target)
    link = root / f".current-{uuid.uuid4().hex}"
    link.symlink_to(target.relative_to(root))
    link.replace(root / "current")  # rename(2): atomic
    for old in sorted(snapshots.iterdir())[:-KEEP_SNAPSHOTS]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def discard(staged: Staged) -> None:
    """Drop a staged export that will not be published (it failed validation)."""
    if staged.changed:
        shutil.rmtree(staged.path, ignore_errors=True)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
