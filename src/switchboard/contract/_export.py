"""Exports: the inputs and results of ExportWorkflow and RetentionWorkflow's activities."""

from dataclasses import dataclass, field
from typing import Any

STAGE_EXPORT = "stage_export"
VALIDATE_EXPORT = "validate_export"
PUBLISH_EXPORT = "publish_export"
PURGE_EXPIRED = "purge_expired"
# The error type of a batch the quality gate refused.
EXPORT_INVALID = "ExportInvalid"

EXPORT_SCHEDULE_ID = "switchboard-export"
RETENTION_SCHEDULE_ID = "switchboard-retention"


@dataclass
class ExportInput:
    """`full`: rebuild every dataset from the store instead of what changed since the last."""

    full: bool = False


@dataclass
class ExportBatch:
    """An export staged by `stage_export`: where it is, and what it rewrote."""

    path: str
    changed: bool
    rows: dict[str, int] = field(default_factory=dict)
    partitions: list[str] = field(default_factory=list)
    watermark: dict[str, Any] = field(default_factory=dict)


@dataclass
class PublishInput:
    batch: ExportBatch
    validation: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ExportSummary:
    published: bool
    snapshot: str | None
    rows: dict[str, int] = field(default_factory=dict)


@dataclass
class PurgeResult:
    """What a retention run removed. `rows_deleted` sums `deleted`, which counts by kind
    (interactions, raw events, conversations, identities, events out, …); fields added since
    the first runs have defaults, so their recorded results still decode."""

    payloads_purged: int
    rows_deleted: int
    deleted: dict[str, int] = field(default_factory=dict)
    blobs_deleted: int = 0
    export_copies_removed: int = 0


__all__ = [
    "EXPORT_INVALID",
    "EXPORT_SCHEDULE_ID",
    "PUBLISH_EXPORT",
    "PURGE_EXPIRED",
    "RETENTION_SCHEDULE_ID",
    "STAGE_EXPORT",
    "VALIDATE_EXPORT",
    "ExportBatch",
    "ExportInput",
    "ExportSummary",
    "PublishInput",
    "PurgeResult",
]
