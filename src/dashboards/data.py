"""What every page reads: the published export through one cached, read-only DuckDB connection,
and the interactions the store changed since (read-only), for the pages that show them live.

The connection is an in-memory DuckDB with the snapshot's marts attached read-only and views
over its Parquet files; it is cached per snapshot, so a new export is picked up on the next
rerun and the old one is let go. `live_query` lays the store's newer interactions over the
published ones (`analytics.live`): what the next export will publish, seconds after the webhook.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from analytics import export, live, metrics
from analytics.export.marts import MARTS
from analytics.privacy import Privacy, load_key
from switchboard.contract import Channel
from switchboard.settings import DashboardSettings
from switchboard.store import Store

# How often the pages refresh themselves: those with live interactions (Overview, Channels),
# and those on the export alone (it changes every `SWITCHBOARD_EXPORT_INTERVAL_S`).
LIVE_REFRESH_S = 5
EXPORT_REFRESH_S = 15
# The store's changed rows are read at most this often, however many sessions are open.
LIVE_TTL_S = 2
# The Overview's headline rate: interactions over the last few minutes.
HEADLINE_WINDOW = timedelta(minutes=5)
# What a figure with no value, or an empty cell, reads.
NO_VALUE = "—"
# The agent of a conversation no agent was ever assigned to.
UNASSIGNED = "unassigned"

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


@st.cache_resource
def store_engine() -> Engine | None:
    """The store, read-only here; None where there is none yet (a dashboard never creates
    one)."""
    s = settings()
    url = make_url(s.resolved_database_url())
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        return None
    return Store.from_url(s.resolved_database_url(), s.sqlite_busy_timeout_s).engine


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


@dataclass(frozen=True)
class Changed:
    """The interactions the store changed after a snapshot's watermark, and when read."""

    rows: pa.Table
    read_at: datetime


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def changed(snapshot: Path) -> Changed | None:
    """The store's interactions newer than the snapshot; None when the store cannot be read
    (the pages then show the export alone, and say so)."""
    engine = store_engine()
    if engine is None:
        return None
    watermark = export.Watermark.from_json(manifest(snapshot)["watermark"])
    try:
        rows = live.changed_since(engine, privacy(), watermark.interactions_updated_at)
    except SQLAlchemyError:
        return None
    return Changed(rows, datetime.now(UTC))


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def live_query(snapshot: Path, sql: str, params: tuple[Any, ...] = ()) -> pd.DataFrame:
    """`query`, with `interactions` the published rows overlaid with the store's newer ones."""
    newer = changed(snapshot)
    if newer is None:
        return query(snapshot, sql, params)
    cursor = _cursor(snapshot)
    try:
        cursor.register("changed", newer.rows)
        # Temporary views of this cursor alone; `memory.main` is the connection's own view.
        cursor.execute("CREATE TEMP VIEW published AS SELECT * FROM memory.main.interactions")
        cursor.execute(f"CREATE TEMP VIEW interactions AS {live.LIVE_INTERACTIONS}")
        values = [list(p) if isinstance(p, tuple) else p for p in params]
        return cursor.execute(sql, values).df()
    finally:
        cursor.close()


def mart_sql(name: str) -> str:
    """A mart's query (analytics/marts/<name>.sql), to run it over the live interactions."""
    return (MARTS / f"{name}.sql").read_text()


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
    range_label: str = "Everything"

    def refreshed(self) -> Filters:
        """The same selection, its time range ending now (a page that refreshes itself)."""
        span = RANGES[self.range_label]
        return replace(self, since=None if span is None else datetime.now(UTC) - span)

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


def latency(
    snapshot: Path, f: Filters, per_minute: bool = False, per_channel: bool = False
) -> pd.DataFrame:
    """The processing latency figures (analytics/metrics.sql) of the interactions received in
    the time range on the channels, live: one row per minute and/or channel, then the `total`
    row (there even when there are none)."""
    return live_query(
        snapshot,
        "SELECT * FROM latency(?, ?, ?, ?)",
        (f.since, f.channel_list, per_minute, per_channel),
    )


def filters() -> Filters:
    """The sidebar's time range and channels, kept across pages."""
    # The default through the session state: a page may have set another (a timeline link).
    st.session_state.setdefault("range", "Last 24 hours")
    label = st.sidebar.selectbox("Time range", list(RANGES), key="range")
    channels = st.sidebar.multiselect(
        "Channels", [c.value for c in Channel], default=[c.value for c in Channel], key="channels"
    )
    return Filters(None, tuple(channels) or tuple(c.value for c in Channel), label).refreshed()


def privacy() -> Privacy:
    configured = settings().export_hash_key
    key = configured.get_secret_value() if configured else None
    return Privacy(load_key(key, settings().resolved_export_dir()))


def manifest(snapshot: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((snapshot / "manifest.json").read_text())
    return found


def published_at(snapshot: Path) -> datetime:
    return datetime.fromisoformat(manifest(snapshot)["published_at"])


def ago(at: datetime, now: datetime | None = None) -> str:
    """7 s ago, 3m 10s ago: how old a reading is."""
    seconds = max(0, int(((now or datetime.now(UTC)) - at).total_seconds()))
    return f"{seconds} s ago" if seconds < 60 else f"{duration(seconds)} ago"


def data_age(snapshot: Path, live_too: bool = False, refreshes: bool = True) -> None:
    """The page's caption: how old its data is (and how often the page refreshes itself)."""
    said = f"Export published {ago(published_at(snapshot))}"
    newer = changed(snapshot) if live_too else None
    if newer is not None:
        said += (
            f" · interactions live: {newer.rows.num_rows:,} newer ones read from the store "
            f"{ago(newer.read_at)}"
        )
    elif live_too:
        said += " · the store cannot be read: interactions as of the export"
    if refreshes:
        said += f" · refreshes every {LIVE_REFRESH_S if live_too else EXPORT_REFRESH_S} s"
    st.caption(said)


def metric(
    where: Any, label: str, value: str | None, missing: str, help: str | None = None
) -> None:
    """`st.metric`, or `—` with the reason there is no value on hover."""
    where.metric(
        label, NO_VALUE if value is None else value, help=missing if value is None else help
    )


def table(frame: pd.DataFrame, name: str, **options: Any) -> None:
    """A table, its empty cells `—`, and a button to download it as CSV."""
    st.dataframe(frame, placeholder=NO_VALUE, **options)
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    st.download_button(
        "Download CSV",
        frame.to_csv(index=not options.get("hide_index", False)).encode(),
        file_name=f"{slug}.csv",
        mime="text/csv",
        key=f"csv-{slug}",
        help=f"{name}, as shown",
        on_click="ignore",
        icon=":material/download:",
    )


def chart(built: Any, empty: str) -> None:
    """A chart from `dashboards.charts`, or `empty` said where it had nothing to draw."""
    if built is None:
        st.info(empty)
    else:
        st.altair_chart(built, width="stretch")


def duration(seconds: float | None) -> str | None:
    """12s, 4m 10s, 3h 5m, 2d 4h: how people read durations."""
    if seconds is None or pd.isna(seconds):
        return None
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


def open_conversations() -> str | None:
    """Conversations open now (not resolved, or reopened), from the published export."""
    found = snapshot()
    if found is None:
        return None
    open_now = query(found, "SELECT count(*) AS n FROM conversations WHERE resolved_by IS NULL")
    return f"{int(open_now.n.iloc[0]):,}"


def percent(value: float | None) -> str | None:
    return None if value is None or pd.isna(value) else f"{value:.1%}"


def per_minute(per_second: float | None) -> str | None:
    return None if per_second is None else f"{per_second * 60:.1f}/min"


@st.cache_resource
def currency() -> str:
    """The rate card's currency (the routing rules file's `[rate_card]`)."""
    from switchboard import routing

    return routing.load(settings().routing_rules).rate_card.currency


def money(value: float | None) -> str | None:
    """An amount in the rate card's currency: 0.4060 EUR (a message costs fractions of a cent)."""
    return None if value is None or pd.isna(value) else f"{value:,.4f} {currency()}"


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
