"""Resolution: first response, resolution time, first-contact resolution, SLA, by queue."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards import data

st.title("Resolution")
snapshot = data.require_export()
by_queue = data.query(snapshot, "SELECT * FROM marts.resolution_by_queue")
if by_queue.empty:
    st.info("No conversations yet: they open with a customer's first inbound message.")
    st.stop()

overall = data.query(
    snapshot,
    """SELECT count(*) AS conversations, avg(first_response_s) AS first_response,
              avg(resolution_s) AS resolution, avg(CAST(fcr AS DOUBLE)) AS fcr,
              avg(CAST(sla_attained AS DOUBLE)) AS sla
       FROM conversations""",
).iloc[0]
cols = st.columns(5)
cols[0].metric("Conversations", f"{int(overall.conversations):,}")
cols[1].metric("First response (mean)", data.duration(overall.first_response))
cols[2].metric("Resolution (mean)", data.duration(overall.resolution))
cols[3].metric("First-contact resolution", data.percent(overall.fcr))
cols[4].metric("SLA attainment", data.percent(overall.sla))
st.caption("Rates are over conversations whose outcome is decided (see `switchboard metrics`).")

st.subheader("By queue")
table = by_queue.assign(
    first_response=by_queue.first_response_mean_s.map(data.duration),
    resolution=by_queue.resolution_mean_s.map(data.duration),
    resolution_business=by_queue.resolution_business_mean_s.map(data.duration),
)[
    [
        "queue",
        "conversations",
        "first_response",
        "resolution",
        "resolution_business",
        "fcr_rate",
        "reopen_rate",
        "sla_attainment",
    ]
]
percent = st.column_config.NumberColumn(format="percent")
st.dataframe(
    table,
    hide_index=True,
    column_config={"fcr_rate": percent, "reopen_rate": percent, "sla_attainment": percent},
)
st.altair_chart(
    alt.Chart(by_queue)
    .mark_bar()
    .encode(
        x=alt.X("sla_attainment:Q", axis=alt.Axis(format="%"), title="SLA attainment"),
        y=alt.Y("queue:N", title=None),
    ),
    width="stretch",
)

daily = data.query(snapshot, "SELECT * FROM marts.resolution_daily")
if len(daily) > 1:
    st.subheader("Per day")
    st.altair_chart(
        alt.Chart(daily.melt("day", ["fcr_rate", "sla_attainment"]))
        .mark_line(point=True)
        .encode(x="day:T", y=alt.Y("value:Q", axis=alt.Axis(format="%")), color="variable:N"),
        width="stretch",
    )
