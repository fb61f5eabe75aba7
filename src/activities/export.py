"""stage_export, validate_export and publish_export: the export's activities.

Synchronous (files, SQL, Great Expectations): they run in the worker's thread pool. The
staging directory is on the export volume, which every worker shares.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from analytics import export
from analytics.export import erased
from analytics.privacy import Privacy
from switchboard.calendars import BusinessHours
from switchboard.contract import (
    EXPORT_INVALID,
    PUBLISH_EXPORT,
    STAGE_EXPORT,
    VALIDATE_EXPORT,
    ExportBatch,
    ExportInput,
    PublishInput,
)
from switchboard.costs import RateCard
from switchboard.store import Store


class ExportActivities:
    def __init__(
        self,
        store: Store,
        root: Path,
        privacy: Privacy,
        hours: BusinessHours,
        rates: RateCard | None = None,
    ) -> None:
        self.store = store
        self.root = root
        self.privacy = privacy
        self.hours = hours
        # The routing rules' rate card (None: the providers' own prices only).
        self.rates = rates

    @activity.defn(name=STAGE_EXPORT)
    def stage(self, inp: ExportInput | None = None) -> ExportBatch:
        staged = export.stage(
            self.store.engine,
            self.root,
            self.privacy,
            self.hours,
            datetime.now(UTC),
            full=inp is not None and inp.full,
            rates=self.rates,
        )
        return ExportBatch(
            path=str(staged.path),
            changed=staged.changed,
            rows=staged.rows,
            partitions=staged.partitions,
            watermark=staged.watermark.to_json(),
        )

    @activity.defn(name=VALIDATE_EXPORT)
    def validate(self, batch: ExportBatch) -> list[dict[str, Any]]:
        """The quality gate; a failing batch is discarded and the activity fails for good."""
        # Imported here: Great Expectations takes seconds to import, and a worker restarting
        # after a crash should be polling long before its first export.
        from analytics import quality

        path = Path(batch.path)
        results = quality.validate_frames(path.name, quality.read_batch(path, batch.partitions))
        quality.keep(self.root, results)
        failed = quality.failures(results)
        if failed:
            export.discard(_staged(batch))
            raise ApplicationError(
                f"export batch refused: {quality.describe(failed)}",
                type=EXPORT_INVALID,
                non_retryable=True,
            )
        return quality.as_dicts(results)

    @activity.defn(name=PUBLISH_EXPORT)
    def publish(self, inp: PublishInput) -> str:
        if not Path(inp.batch.path).exists():  # a retry after the rename: already published
            snapshot = export.current(self.root)
            return str(snapshot) if snapshot else ""
        staged = _staged(inp.batch)
        target = export.publish(self.root, staged, inp.validation)
        if staged.watermark.rewrites_until is not None:
            erased.settle(self.store.engine, self.root, target, staged.watermark.rewrites_until)
        published = str(target)
        # For the "export stale" alert (deploy/prometheus/alerts.yml).
        activity.metric_meter().create_gauge_float(
            "switchboard_export_published_timestamp_seconds",
            "Unix time of the last published export.",
        ).set(time.time())
        return published


def _staged(batch: ExportBatch) -> export.Staged:
    return export.Staged(
        path=Path(batch.path),
        watermark=export.Watermark.from_json(batch.watermark),
        changed=batch.changed,
        rows=batch.rows,
        partitions=batch.partitions,
    )
