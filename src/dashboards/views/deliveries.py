"""Events out: delivery health per subscription (delivered, pending, failed, dead-lettered)."""

from __future__ import annotations

import streamlit as st

from dashboards import data, deliveries

st.title("Events out")
table = deliveries.health()
if table is None:
    st.warning(
        "The store cannot be read yet: is the worker running? It creates and migrates the "
        "store (`SWITCHBOARD_DATABASE_URL`)."
    )
    st.stop()
if table.empty:
    st.info("No subscriptions yet: `POST /api/subscriptions` creates one.")
    st.stop()

cols = st.columns(4)
cols[0].metric("Subscriptions", len(table))
cols[1].metric("Disabled", int((~table["enabled"].astype(bool)).sum()))
cols[2].metric("Pending deliveries", int(table["pending"].sum()))
cols[3].metric("Dead-lettered", int(table["dead"].sum()))
data.table(
    table,
    "Deliveries per subscription",
    hide_index=True,
    column_config={
        "success rate": st.column_config.ProgressColumn(
            min_value=0.0, max_value=1.0, format="percent"
        ),
    },
)
st.caption(
    "An `open` breaker holds a failing receiver's deliveries back until its cool-down ends, "
    "then lets one probe through; a receiver failing for days is disabled. "
    "Dead-lettered deliveries are sent again by `POST /api/subscriptions/{id}/replay`; "
    "the log of one subscription is `GET /api/subscriptions/{id}/deliveries`."
)
