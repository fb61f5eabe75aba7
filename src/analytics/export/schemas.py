"""The Arrow schemas of the exported datasets, and the columns their directories hold.

The columns that carry the contract's fields are generated from its dataclasses
(`switchboard.contract`), never written a second time: a field added or retyped there changes
the export and its quality gate alike. The columns the export derives (hashes, latency) and the
datasets of its own (per-minute counts, conversation outcomes) are declared here.
"""

from __future__ import annotations

import dataclasses
import enum
import types
from datetime import datetime
from typing import Any, Union, get_args, get_origin, get_type_hints

import pyarrow as pa

from switchboard.contract import ConversationEvent, CustomerInteraction, RefusedDeliveries, Route

DATASETS = (
    "interactions",
    "conversation_events",
    "raw_event_counts",
    "conversations",
    "refused_deliveries",
)
UTC_TS = pa.timestamp("us", tz="UTC")
_SCALARS: dict[type, pa.DataType] = {
    str: pa.string(),
    bool: pa.bool_(),
    int: pa.int64(),
    float: pa.float64(),
    datetime: UTC_TS,
}


def arrow_type(hint: Any) -> tuple[pa.DataType, bool]:
    """The Arrow type of a contract annotation, and whether it may be null."""
    args = get_args(hint)
    if get_origin(hint) in (Union, types.UnionType) and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return arrow_type(inner)[0], True
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return pa.string(), False  # a StrEnum's value
    if hint in _SCALARS:
        return _SCALARS[hint], False
    raise TypeError(f"no Arrow type for the contract's {hint!r}")


def contract_fields(
    cls: type, names: tuple[str, ...], prefix: str = "", required: tuple[str, ...] = ()
) -> list[pa.Field]:
    """Arrow fields for these fields of a contract dataclass, typed by its annotations.

    `required`: fields the contract leaves optional that every exported row has (a stored
    interaction has been persisted).
    """
    declared = {f.name for f in dataclasses.fields(cls)}
    hints = get_type_hints(cls)
    fields = []
    for name in names:
        if name not in declared:
            raise TypeError(f"{cls.__name__} has no field {name!r}")
        kind, nullable = arrow_type(hints[name])
        fields.append(pa.field(prefix + name, kind, nullable=nullable and name not in required))
    return fields


# One row per interaction; addresses as keyed hashes, text only when the export keeps it.
INTERACTIONS_SCHEMA = pa.schema(
    [
        *contract_fields(
            CustomerInteraction,
            (
                "interaction_id",
                "customer_id",
                "conversation_id",
                "direction",
                "provider",
                "occurred_at",
                "received_at",
                "persisted_at",
                "status",
                "delivery_status",
            ),
            required=("persisted_at",),
        ),
        *contract_fields(Route, ("queue", "priority"), prefix="route_"),
        *contract_fields(Route, ("sla_due_at",)),
        pa.field("latency_ms", pa.float64(), nullable=False),
        pa.field("from_hash", pa.string()),
        pa.field("to_hash", pa.string()),
        pa.field("text", pa.string()),
        pa.field("subject", pa.string()),
        pa.field("has_media", pa.bool_(), nullable=False),
        # Whether the identity that placed it was verified (else: a claim). Null in rows of
        # partitions published before it was exported, until they are rewritten.
        pa.field("identity_verified", pa.bool_()),
        # What it cost, in the rate card's currency (`switchboard.costs`); null: not known yet.
        pa.field("cost", pa.float64()),
    ]
)
EVENTS_SCHEMA = pa.schema(
    contract_fields(
        ConversationEvent, ("event_id", "conversation_id", "customer_id", "kind", "at", "seq")
    )
)
RAW_COUNTS_SCHEMA = pa.schema(
    [
        pa.field("minute", UTC_TS, nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("failed", pa.bool_(), nullable=False),
        pa.field("events", pa.int64(), nullable=False),
    ]
)
# One row per conversation: its outcome (see analytics/resolution.py for each column).
CONVERSATIONS_SCHEMA = pa.schema(
    [
        pa.field("conversation_id", pa.string(), nullable=False),
        pa.field("customer_id", pa.string(), nullable=False),
        ("queue", pa.string()),
        ("channel", pa.string()),
        ("agent", pa.string()),
        pa.field("opened_at", UTC_TS, nullable=False),
        ("resolved_at", UTC_TS),
        pa.field("answered", pa.bool_(), nullable=False),
        ("resolved_by", pa.string()),
        ("first_response_s", pa.float64()),
        ("resolution_s", pa.float64()),
        ("resolution_business_s", pa.float64()),
        pa.field("reopened", pa.bool_(), nullable=False),
        ("fcr", pa.bool_()),
        ("sla_attained", pa.bool_()),
        ("next_response_attained", pa.bool_()),
        ("resolution_attained", pa.bool_()),
        ("time_in_queue_s", pa.float64()),
        ("handle_time_s", pa.float64()),
        pa.field("transfers", pa.int64(), nullable=False),
        # Comma-separated, sorted ("" for none): `string_split(labels, ',')` in DuckDB.
        pa.field("labels", pa.string(), nullable=False),
        ("disposition", pa.string()),
        # 1-5; a float, so a column with gaps keeps its type in every reader.
        ("csat_score", pa.float64()),
        # What it cost (the sum of its interactions' `cost`), in the rate card's currency.
        pa.field("cost", pa.float64(), nullable=False),
    ]
)
# Per minute, provider (the partition), endpoint and reason: the webhook deliveries refused.
REFUSED_SCHEMA = pa.schema(
    contract_fields(RefusedDeliveries, ("minute", "endpoint", "reason", "refused"))
)
SCHEMAS = {
    "interactions": INTERACTIONS_SCHEMA,
    "conversation_events": EVENTS_SCHEMA,
    "raw_event_counts": RAW_COUNTS_SCHEMA,
    "conversations": CONVERSATIONS_SCHEMA,
    "refused_deliveries": REFUSED_SCHEMA,
}
# Columns that live in the directory names (Hive style), not in the files.
PARTITIONS: dict[str, list[tuple[str, pa.DataType]]] = {
    "interactions": [("date", pa.date32()), ("channel", pa.string())],
    "conversation_events": [("date", pa.date32())],
    "raw_event_counts": [("date", pa.date32()), ("provider", pa.string())],
    "conversations": [],
    "refused_deliveries": [("date", pa.date32()), ("provider", pa.string())],
}


def with_partitions(name: str) -> pa.Schema:
    """The dataset's schema as a reader sees it: the file columns, then the directory ones."""
    schema = SCHEMAS[name]
    for column, kind in PARTITIONS[name]:
        schema = schema.append(pa.field(column, kind))
    return schema
