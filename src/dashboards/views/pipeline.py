"""Pipeline: the workflows behind the data, by status, with links into Temporal UI."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import data, temporal, uptime
from dashboards.data import settings

st.title("Pipeline")
counts = temporal.counts()
if counts is None:
    st.warning(
        f"Temporal does not answer at `{settings().temporal_address}`: is it running? "
        "(`TEMPORAL_ADDRESS`)"
    )
    st.stop()

table = pd.DataFrame(counts).T.rename_axis("workflow type")
data.table(table, "Workflows by type and status")
cols = st.columns(3)
interactions = counts["InteractionWorkflow"]
cols[0].metric("Interactions running", interactions["Running"])
cols[1].metric("Interactions failed", interactions["Failed"])
# A conversation workflow runs per customer, open or not: the open ones are in the export.
data.metric(
    cols[2],
    "Conversations open",
    data.open_conversations(),
    missing="no export has been published yet",
)
st.link_button("Open Temporal UI", settings().temporal_ui_url)

uptime_table = uptime.table(settings().data_dir)
if uptime_table is not None:
    st.subheader("Uptime per service (as `switchboard up` observed it)")
    data.table(uptime_table, "Uptime per service")

st.subheader("Recent failures")
failures = temporal.recent_failures() or []
if not failures:
    st.success("No failed workflows.")
else:
    data.table(
        pd.DataFrame([vars(f) for f in failures]),
        "Recent failures",
        hide_index=True,
        column_config={"url": st.column_config.LinkColumn("Temporal UI", display_text="open")},
    )
