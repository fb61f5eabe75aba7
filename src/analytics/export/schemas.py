"""The Arrow schemas of the exported datasets, and the columns their directories hold."""

from __future__ import annotations

import pyarrow as pa

DATASETS = ("interactions", "conversation_events", "raw_event_counts", "conversations")
UTC_TS = pa.timestamp("us", tz="UTC")

# One row per interaction; addresses as keyed hashes, text only when the export keeps it.
INTERACTIONS_SCHEMA = pa.schema(
    [
        ("interaction_id", pa.string()),
        ("customer_id", pa.string()),
        ("conversation_id", pa.string()),
        ("direction", pa.string()),
        ("provider", pa.string()),
        ("occurred_at", UTC_TS),
        ("received_at", UTC_TS),
        ("persisted_at", UTC_TS),
        ("latency_ms", pa.float64()),
        ("status", pa.string()),
        ("delivery_status", pa.string()),
        ("route_queue", pa.string()),
        ("route_priority", pa.int32()),
        ("sla_due_at", UTC_TS),
        ("from_hash", pa.string()),
        ("to_hash", pa.string()),
        ("text", pa.string()),
        ("subject", pa.string()),
        ("has_media", pa.bool_()),
    ]
)
EVENTS_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("conversation_id", pa.string()),
        ("customer_id", pa.string()),
        ("kind", pa.string()),
        ("at", UTC_TS),
        ("seq", pa.int64()),
    ]
)
RAW_COUNTS_SCHEMA = pa.schema(
    [
        ("minute", UTC_TS),
        ("kind", pa.string()),
        ("failed", pa.bool_()),
        ("events", pa.int64()),
    ]
)
# One row per conversation: its outcome (see analytics/resolution.py for each column).
CONVERSATIONS_SCHEMA = pa.schema(
    [
        ("conversation_id", pa.string()),
        ("customer_id", pa.string()),
        ("queue", pa.string()),
        ("channel", pa.string()),
        ("agent", pa.string()),
        ("opened_at", UTC_TS),
        ("resolved_at", UTC_TS),
        ("answered", pa.bool_()),
        ("resolved_by", pa.string()),
        ("first_response_s", pa.float64()),
        ("resolution_s", pa.float64()),
        ("resolution_business_s", pa.float64()),
        ("reopened", pa.bool_()),
        ("fcr", pa.bool_()),
        ("sla_attained", pa.bool_()),
    ]
)
SCHEMAS = {
    "interactions": INTERACTIONS_SCHEMA,
    "conversation_events": EVENTS_SCHEMA,
    "raw_event_counts": RAW_COUNTS_SCHEMA,
    "conversations": CONVERSATIONS_SCHEMA,
}
# Columns that live in the directory names (Hive style), not in the files.
PARTITIONS: dict[str, list[tuple[str, pa.DataType]]] = {
    "interactions": [("date", pa.date32()), ("channel", pa.string())],
    "conversation_events": [("date", pa.date32())],
    "raw_event_counts": [("date", pa.date32()), ("provider", pa.string())],
    "conversations": [],
}


def with_partitions(name: str) -> pa.Schema:
    """The dataset's schema as a reader sees it: the file columns, then the directory ones."""
    schema = SCHEMAS[name]
    for column, kind in PARTITIONS[name]:
        schema = schema.append(pa.field(column, kind))
    return schema
