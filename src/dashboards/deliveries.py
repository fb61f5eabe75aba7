"""Delivery health of events out, read from the operational store (not in the exports)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from dashboards.data import store_engine
from switchboard.contract import DeliveryStatus
from switchboard.store.subscriptions import SubscriptionStore


def subscriptions() -> SubscriptionStore | None:
    """The store, or None where there is none yet (a dashboard never creates one)."""
    engine = store_engine()
    return None if engine is None else SubscriptionStore(engine)


@st.cache_data(ttl=10, show_spinner=False)
def health() -> pd.DataFrame | None:
    """One row per subscription: deliveries by status, success rate, mean latency, its
    circuit breaker's state and why it was disabled; None when
    the store cannot be read (not created or not migrated yet, or unreachable)."""
    store = subscriptions()
    if store is None:
        return None
    try:
        rows = store.health()
    except SQLAlchemyError:
        return None
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    # A subscription without deliveries yet: one row with no status and a count of 0.
    frame["status"] = frame["status"].fillna(DeliveryStatus.PENDING.value)
    # The host only: a URL's path or query may hold the subscriber's own token.
    frame["host"] = frame["url"].map(lambda url: urlsplit(url).hostname or "")
    # Index columns without a value would drop their rows from the pivot.
    frame["breaker"] = frame["breaker_state"].fillna("closed")
    frame["disabled because"] = frame["disabled_reason"].fillna("")
    counts = frame.pivot_table(
        index=["subscription_id", "host", "enabled", "breaker", "disabled because"],
        columns="status",
        values="deliveries",
        aggfunc="sum",
        fill_value=0,
    )
    counts = counts.reindex(columns=[s.value for s in DeliveryStatus], fill_value=0)
    latency = frame.groupby("subscription_id")["mean_latency_ms"].mean()
    last = frame.groupby("subscription_id")["last_activity_at"].max()
    table = counts.reset_index()
    finished = table["delivered"] + table["failed"] + table["dead"]
    table["success rate"] = (table["delivered"] / finished.where(finished > 0)).fillna(1.0)
    table["mean latency (ms)"] = table["subscription_id"].map(latency).round(0)
    table["last activity"] = table["subscription_id"].map(last)
    return table
