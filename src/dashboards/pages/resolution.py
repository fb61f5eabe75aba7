"""Resolution: first response, resolution time, first-contact resolution, SLA, by queue and
agent, over the conversations opened in the sidebar's time range on its channels."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import data

st.title("Resolution")
snapshot = data.require_export()
f = data.filters()
overall = data.resolution(snapshot, f).iloc[-1]
if not overall.conversations:
    st.info(
        "No conversations opened in this time range on these channels: they open with a "
        "customer's first inbound message."
    )
    st.stop()

cols = st.columns(4)
cols[0].metric("Conversations", f"{int(overall.conversations):,}")
cols[1].metric("First response (mean)", data.duration(overall.first_response_mean_s))
cols[2].metric("Resolution (mean)", data.duration(overall.resolution_mean_s))
cols[3].metric("Resolution (business hours)", data.duration(overall.resolution_business_mean_s))
cols = st.columns(4)
cols[0].metric("First-contact resolution", data.percent(overall.fcr_rate))
cols[1].metric("Reopen rate", data.percent(overall.reopen_rate))
cols[2].metric(
    "Unanswered rate",
    data.percent(overall.unanswered_rate),
    help="closed by the inactivity window with no agent reply, of the conversations closed",
)
cols[3].metric("Resolved by an agent", f"{int(overall.resolved_by_agent):,}")
cols = st.columns(4)
cols[0].metric(
    "Time in queue (mean)",
    data.duration(overall.time_in_queue_mean_s),
    help="opened or transferred to a queue → assigned",
)
cols[1].metric(
    "Handle time (mean)",
    data.duration(overall.handle_time_mean_s),
    help="assigned → resolved by an agent, less the time waiting on the customer",
)
cols[2].metric(
    "CSAT (mean of 5)",
    "-" if not overall.csat_responses else f"{overall.csat_mean:.2f}",
    help=f"{int(overall.csat_responses):,} scores of the latest resolutions",
)
cols[3].metric("Transfers", f"{int(overall.transfers):,}")
st.caption(
    "Resolution times count conversations an agent resolved; rates count conversations whose "
    "outcome is decided (docs/analytics-and-dashboards.md, metric definitions)."
)

st.subheader("SLA targets")
for col, (label, column, help_text) in zip(st.columns(3), data.SLA_TARGETS, strict=True):
    col.metric(label, data.percent(overall[column]), help=help_text)
st.caption(
    "Targets in business hours on the routing rules' calendar; the resolution clock pauses "
    "while the conversation waits on the customer. Each share counts the conversations whose "
    "outcome for that target is decided."
)

percent = st.column_config.NumberColumn(format="percent")
RATES = {
    "fcr_rate": percent,
    "reopen_rate": percent,
    **{column: percent for _, column, _ in data.SLA_TARGETS},
}


def table(grouped: pd.DataFrame, key: str) -> pd.DataFrame:
    rows = grouped[~grouped.total].rename(columns={"key": key})
    return rows.assign(
        first_response=rows.first_response_mean_s.map(data.duration),
        resolution=rows.resolution_mean_s.map(data.duration),
        handle_time=rows.handle_time_mean_s.map(data.duration),
    )[[key, "conversations", "first_response", "resolution", "handle_time", "csat_mean", *RATES]]


by_queue = data.resolution(snapshot, f, "queue")
st.subheader("By queue")
st.dataframe(table(by_queue, "queue"), hide_index=True, column_config=RATES)
st.altair_chart(
    alt.Chart(by_queue[~by_queue.total].rename(columns={"key": "queue"}))
    .mark_bar()
    .encode(
        x=alt.X("sla_attainment:Q", axis=alt.Axis(format="%"), title="SLA attainment"),
        y=alt.Y("queue:N", title=None),
    ),
    width="stretch",
)

st.subheader("By agent")
st.caption(
    "The agent who resolved the conversation (else the last one assigned): conversations "
    "handled, mean first response and resolution, FCR and the SLA targets."
)
st.dataframe(
    table(data.resolution(snapshot, f, "agent"), "agent"), hide_index=True, column_config=RATES
)

st.subheader("By disposition")
st.caption("The disposition of the agent's last resolution (none: not given, or not resolved).")
st.dataframe(
    table(data.resolution(snapshot, f, "disposition"), "disposition"),
    hide_index=True,
    column_config=RATES,
)

where, params = f.where("opened_at")
daily = data.query(
    snapshot,
    f"""SELECT CAST(opened_at AS DATE) AS day, fcr_rate(fcr) AS fcr_rate,
               sla_attainment(sla_attained) AS sla_attainment
        FROM conversations WHERE {where} GROUP BY ALL ORDER BY day""",
    params,
)
if len(daily) > 1:
    st.subheader("Per day opened")
    st.altair_chart(
        alt.Chart(daily.melt("day", ["fcr_rate", "sla_attainment"]))
        .mark_line(point=True)
        .encode(x="day:T", y=alt.Y("value:Q", axis=alt.Axis(format="%")), color="variable:N"),
        width="stretch",
    )
