"""purge_expired: the store's retention, run hourly by RetentionWorkflow.

Synchronous (SQL over whole tables): it runs in the worker's thread pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio import activity

from switchboard.contract import PURGE_EXPIRED, PurgeResult
from switchboard.store import Store


@dataclass(frozen=True)
class Retention:
    """How long raw payloads and rows are kept (from the worker's settings)."""

    payload_days: int = 0  # 0: kept
    row_days: int = 0  # 0: kept


class RetentionActivities:
    def __init__(self, store: Store, retention: Retention) -> None:
        self.store = store
        self.retention = retention

    @activity.defn(name=PURGE_EXPIRED)
    def purge(self) -> PurgeResult:
        now = datetime.now(UTC)
        payloads = rows = 0
        if self.retention.payload_days:
            payloads = self.store.purge_payloads(now - timedelta(days=self.retention.payload_days))
        if self.retention.row_days:
            rows = self.store.delete_older_than(now - timedelta(days=self.retention.row_days))
        return PurgeResult(payloads_purged=payloads, rows_deleted=rows)
