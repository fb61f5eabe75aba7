"""The pages' charts: pure builders, data frame in, Altair chart out (None: nothing to draw)."""

from __future__ import annotations

import altair as alt
import pandas as pd


def _drawable(frame: pd.DataFrame, column: str) -> bool:
    return not frame.empty and bool(frame[column].notna().any())


def ingest_rate(per_minute: pd.DataFrame) -> alt.Chart | None:
    """Interactions per minute and channel (`minute`, `channel`, `interactions`)."""
    if not _drawable(per_minute, "interactions"):
        return None
    return (
        alt.Chart(per_minute)
        .mark_line(point=True)
        .encode(
            x=alt.X("minute:T", title=None),
            y=alt.Y("interactions:Q", title="interactions per minute"),
            color="channel:N",
        )
    )


def latency(per_minute: pd.DataFrame) -> alt.Chart | None:
    """Latency percentiles per minute (`minute`, `p50_ms`, `p95_ms`, `p99_ms`: rows of
    `latency(...)`, analytics/metrics.sql)."""
    long = per_minute[["minute", "p50_ms", "p95_ms", "p99_ms"]].melt(
        "minute", var_name="percentile", value_name="ms"
    )
    long["percentile"] = long["percentile"].str.removesuffix("_ms")
    if not _drawable(long, "ms"):
        return None
    return (
        alt.Chart(long.dropna(subset=["ms"]))
        .mark_line()
        .encode(x=alt.X("minute:T", title=None), y=alt.Y("ms:Q", title="ms"), color="percentile:N")
    )


def deliveries(per_minute: pd.DataFrame) -> alt.Chart | None:
    """Accepted and refused deliveries per minute (`minute`, `outcome`, `deliveries`)."""
    if not _drawable(per_minute, "deliveries"):
        return None
    return (
        alt.Chart(per_minute)
        .mark_bar()
        .encode(
            x=alt.X("minute:T", title=None),
            y=alt.Y("deliveries:Q", title="deliveries per minute"),
            color="outcome:N",
        )
    )


def per_channel(channels: pd.DataFrame) -> alt.Chart | None:
    """Interactions per channel (`channel`, `interactions`, …)."""
    if not _drawable(channels, "interactions"):
        return None
    return (
        alt.Chart(channels)
        .mark_bar()
        .encode(
            x=alt.X("interactions:Q"),
            y=alt.Y("channel:N", sort="-x", title=None),
            color="channel:N",
            tooltip=["channel", "interactions", "customers", "p50_ms", "p99_ms"],
        )
    )


def delivery_status(statuses: pd.DataFrame) -> alt.Chart | None:
    """Outbound interactions per channel and delivery status (`channel`, `delivery_status`, `n`)."""
    if not _drawable(statuses, "n"):
        return None
    return (
        alt.Chart(statuses)
        .mark_bar()
        .encode(x="n:Q", y=alt.Y("channel:N", title=None), color="delivery_status:N")
    )


def attainment_by(groups: pd.DataFrame, key: str, column: str, title: str) -> alt.Chart | None:
    """A share per group (`key`, `column`), as a percentage; groups with none decided left out."""
    if not _drawable(groups, column):
        return None
    return (
        alt.Chart(groups.dropna(subset=[column]))
        .mark_bar()
        .encode(
            x=alt.X(f"{column}:Q", axis=alt.Axis(format="%"), title=title),
            y=alt.Y(f"{key}:N", title=None),
        )
    )


def daily_shares(daily: pd.DataFrame) -> alt.Chart | None:
    """Shares per day (`day`, then one column per share); only with two days or more."""
    long = daily.melt("day").dropna(subset=["value"])
    if long["day"].nunique() < 2:
        return None
    return (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(x="day:T", y=alt.Y("value:Q", axis=alt.Axis(format="%")), color="variable:N")
    )
