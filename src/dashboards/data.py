"""What every page reads: the published export through one cached, read-only DuckDB connection.

The connection is an in-memory DuckDB with the snapshot's marts attached read-only and views
over its Parquet files; it is cached per snapshot, so a new export is picked up on the next
rerun and the old one is let go.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from analytics import export, metrics
from analytics.privacy import Privacy, load_key
from switchboard.contract import Channel
from switchboard.settings import DashboardSettings

RANGES = {
    "Last hour": timedelta(hours=1),
    "Last 24 hours": timedelta(days=1),
    "Last 7 days": timedelta(days=7),
    "Last 30 days": timedelta(days=30),
    "Everything": None,
}


# The SLA targets as the pages show them: label, column of `resolution(...)`, what it counts.
SLA_TARGETS = (
    (
        "First response on time",
        "sla_attainment",
        "answered before the first-response target, of those answered or breached",
    ),
    (
        "Next responses on time",
        "next_response_attainment",
        "conversations whose every next response met its target, of those with one decided",
    ),
    (
        "Resolution on time",
        "resolution_attainment",
        "resolved by an agent within the resolution target, of those resolved or breached",
    ),
)


@st.cache_resource
def settings() -> DashboardSettings:
    return DashboardSettings()


def snapshot() -> Path | None:
    return export.current(settings().resolved_export_dir())


@st.cache_resource(max_entries=2)
def connection(snapshot: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()  # in memory: the views over Parquet; the marts are `marts.<name>`
    for name in export.DATASETS:
        export.register(con, snapshot, name)
    metrics.define(con)  # the metric macros, to compute them over the filtered rows
    con.execute(f"ATTACH '{snapshot / 'marts.duckdb'}' AS marts (READ_ONLY)")
    return con


def _cursor(snapshot: Path) -> duckdb.DuckDBPyConnection:
    # One cursor per query: Streamlit runs sessions in threads, a DuckDB connection is not
    # shared across threads, its cursors are.
    return connection(snapshot).cursor()


@st.cache_data(ttl=30, show_spinner=False)
def query(snapshot: Path, sql: str, params: tuple[Any, ...] = ()) -> pd.DataFrame:
    # Tuples (hashable, for the cache) are DuckDB lists.
    values = [list(p) if isinstance(p, tuple) else p for p in params]
    return _cursor(snapshot).execute(sql, values).df()


def require_export() -> Path:
    """The published snapshot; without one, say how to get one and stop the page."""
    found = snapshot()
    if found is None:
        st.info(
            "No export has been published yet. The worker exports every minute "
            "(`SWITCHBOARD_EXPORT_INTERVAL_S`); `switchboard export` runs one now. "
            f"Looking in `{settings().resolved_export_dir()}`."
        )
        st.stop()
    assert found is not None
    return found


@dataclass(frozen=True)
class Filters:
    since: datetime | None
    channels: tuple[str, ...]

    def where(self, time_column: str) -> tuple[str, tuple[Any, ...]]:
        """A WHERE clause (and its parameters) for a table with `channel` and a time column."""
        clauses = [f"channel IN ({', '.join('?' for _ in self.channels)})"]
        params: list[Any] = list(self.channels)
        if self.since is not None:
            clauses.append(f"{time_column} >= ?")
            params.append(self.since)
        return " AND ".join(clauses), tuple(params)

    @property
    def channel_list(self) -> tuple[str, ...] | None:
        """The channels, or None for all of them (rows of no known channel included)."""
        return None if set(self.channels) == {c.value for c in Channel} else self.channels


def resolution(snapshot: Path, f: Filters, grouping_by: str | None = None) -> pd.DataFrame:
    """The resolution figures (analytics/metrics.sql) of the conversations opened in the time
    range on the channels: one row per queue or agent, then the `total` row."""
    return query(
        snapshot,
        "SELECT * FROM resolution(?, ?, ?)",
        (f.since, f.channel_list, grouping_by),
    )


def filters() -> Filters:
    """The sidebar's time range and channels, kept across pages."""
    label = st.sidebar.selectbox("Time range", list(RANGES), index=1, key="range")
    channels = st.sidebar.multiselect(
        "Channels", [c.value for c in Channel], default=[c.value for c in Channel], key="channels"
    )
    span = RANGES[label]
    since = None if span is None else datetime.now(UTC) - span
    return Filters(since, tuple(channels) or tuple(c.value for c in Channel))


def privacy() -> Privacy:
    configured = settings().export_hash_key
    key = configured.get_secret_value() if configured else None
    return Privacy(load_key(key, settings().resolved_export_dir()))


def published_at(snapshot: Path) -> str:
    import json

    manifest = json.loads((snapshot / "manifest.json").read_text())
    return str(manifest["published_at"])[:19].replace("T", " ") + " UTC"


def duration(seconds: float | None) -> str:
    """12s, 4m 10s, 3h 5m, 2d 4h: how people read durations."""
    if seconds is None or pd.isna(seconds):
        return "-"
    seconds = int(seconds)
    for unit, size, sub, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} {(seconds % size) // sub_size}{sub}"
    return f"{seconds // 60}m {seconds % 60}s" if seconds >= 60 else f"{seconds}s"


def ingest_rate(
    interactions: int, since: datetime | None, first: Any, now: datetime | None = None
) -> float | None:
    """Interactions per second over the selected range: from `since` (or, for everything, the
    first interaction) to now, quiet minutes included."""
    start = since if since is not None else (None if pd.isna(first) else first)
    if start is None:
        return None
    seconds = ((now or datetime.now(UTC)) - start).total_seconds()
    return interactions / seconds if seconds > 0 else None


def open_conversations() -> str:
    """Conversations open now (not resolved, or reopened), from the published export."""
    found = snapshot()
    if found is None:
        return "-"
    open_now = query(found, "SELECT count(*) AS n FROM conversations WHERE resolved_by IS NULL")
    return f"{int(open_now.n.iloc[0]):,}"


def percent(value: float | None) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.1%}"


@st.cache_resource
def currency() -> str:
    """The rate card's currency (the routing rules file's `[rate_card]`)."""
    from switchboard import routing

    return routing.load(settings().routing_rules).rate_card.currency


def money(value: float | None) -> str:
    """An amount in the rate card's currency: 0.4060 EUR (a message costs fractions of a cent)."""
    return "-" if value is None or pd.isna(value) else f"{value:,.4f} {currency()}"


@st.cache_data(ttl=30, show_spinner=False)
def validation_results() -> pd.DataFrame | None:
    from analytics.quality import result_files

    files = result_files(settings().resolved_export_dir())
    if not files:
        return None
    return (
        duckdb.connect()
        .execute("SELECT * FROM read_parquet(?, union_by_name = true)", [[str(f) for f in files]])
        .df()
    )
