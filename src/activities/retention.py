"""purge_expired: retention, run hourly by RetentionWorkflow, over everything Switchboard keeps.

Raw payloads are emptied after `payload_days`; after `row_days` every kind of row goes
(`switchboard.store.retention`), the exports drop what the store dropped at their next run and
lose their older copies now; audit rows go after `audit_days`; blobs go once nothing names
them and they are older than the shorter limit. Synchronous (SQL over whole tables, files):
it runs in the worker's thread pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio import activity

from analytics.export.expired import remove_copies_before
from switchboard.blobs import BlobStore
from switchboard.contract import PURGE_EXPIRED, PurgeResult
from switchboard.store import AuditLog, Store
from switchboard.store.retention import expire_blobs, expire_rows


@dataclass(frozen=True)
class Retention:
    """How long raw payloads and rows are kept (from the worker's settings)."""

    payload_days: int = 0  # 0: kept
    row_days: int = 0  # 0: kept
    audit_days: int = 0  # 0: kept


class RetentionActivities:
    def __init__(
        self,
        store: Store,
        retention: Retention,
        blobs: BlobStore | None = None,
        exports: Path | None = None,
    ) -> None:
        self.store = store
        self.retention = retention
        self.blobs = blobs
        self.exports = exports

    @activity.defn(name=PURGE_EXPIRED)
    def purge(self) -> PurgeResult:
        now = datetime.now(UTC)
        result = PurgeResult(payloads_purged=0, rows_deleted=0)
        if self.retention.payload_days:
            before = now - timedelta(days=self.retention.payload_days)
            result.payloads_purged = self.store.purge_payloads(before)
        if self.retention.row_days:
            before = now - timedelta(days=self.retention.row_days)
            result.deleted = expire_rows(self.store.engine, before).as_dict()
            result.rows_deleted = sum(result.deleted.values())
            if self.exports is not None:
                result.export_copies_removed = remove_copies_before(self.exports, before)
        if self.retention.audit_days:
            # The audit log has a limit of its own: who did what is kept longer than the data.
            before = now - timedelta(days=self.retention.audit_days)
            expired = AuditLog(self.store.engine).expire(before)
            result.deleted = {**result.deleted, "audit_log": expired}
            result.rows_deleted += expired
        limits = [days for days in (self.retention.payload_days, self.retention.row_days) if days]
        if limits and self.blobs is not None:
            # A blob nothing names is kept no longer than the shorter limit.
            before = now - timedelta(days=min(limits))
            result.blobs_deleted = expire_blobs(self.store.engine, self.blobs, before)
        return result
