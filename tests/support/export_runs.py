"""An export run as ExportWorkflow's activities do it (stage, quality gate, publish), in-process.

Kept apart from `exported.py` (imported by tests/conftest.py): the quality gate imports
Great Expectations, seconds of start-up that only the tests that run it should pay.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from analytics import export, quality
from analytics.privacy import Privacy
from switchboard import routing
from switchboard.store import Store

# The export's address-hashing key in these tests (SWITCHBOARD_EXPORT_HASH_KEY).
HASH_KEY = b"test-hash-key"


def run_export(store: Store, root: Path, keep_text: bool = False) -> export.Staged:
    """Stage, validate and publish, as ExportWorkflow's three activities do."""
    hours = routing.load().hours
    staged = export.stage(
        store.engine, root, Privacy(HASH_KEY, keep_text), hours, datetime.now(UTC)
    )
    if staged.changed:
        results = quality.validate_frames("t", quality.read_batch(staged.path, staged.partitions))
        assert quality.failures(results) == []
        export.publish(root, staged, quality.as_dicts(results))
    return staged
