"""Export copies past the retention limit: older snapshots and abandoned staging copies.

The published snapshot stays: the rows it holds past the limit are dropped by the next export,
which rewrites the partitions a retention run asked for (`analytics.export.erased`).
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from analytics.export.snapshots import current


def remove_copies_before(root: Path, before: datetime) -> int:
    """Remove every snapshot but the published one, and every staging copy, last written
    before `before`; how many were removed."""
    published = current(root)
    cutoff = before.timestamp()
    removed = 0
    for parent in (root / "snapshots", root / "staging"):
        if not parent.is_dir():
            continue
        for copy in parent.iterdir():
            if published is not None and copy.resolve() == published:
                continue
            try:
                if copy.stat().st_mtime >= cutoff:
                    continue
            except FileNotFoundError:  # removed meanwhile by an export
                continue
            shutil.rmtree(copy, ignore_errors=True)
            removed += 1
    return removed
