"""Overview: how much is coming in, how fast it is stored, what fails, what is waiting."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards import data, temporal

st.title("Overview")
snapshot = data.require_export()
f = data.filters()
where, params = f.where("received_at")

totals = data.query(
    snapshot,
    f"""SELECT count(*) AS interactions,
               quantile_cont(latency_ms, 0.50) AS p50,
               quantile_cont(latency_ms, 0.95) AS p95,
               quantile_cont(latency_ms, 0.99) AS p99,
               min(received_at) AS first
        FROM interactions WHERE {where}""",
    params,
).iloc[0]
# Deliveries are per provider, not per channel: the channel filter does not apply to them.
deliveries = data.query(snapshot, "SELECT * FROM delivery_totals(?)", (f.since,)).iloc[0]
running = temporal.counts()

cols = st.columns(6)
cols[0].metric("Interactions", f"{int(totals.interactions):,}")
per_second = data.ingest_rate(int(totals.interactions), f.since, totals.first)
cols[1].metric(
    "Ingest rate",
    "-" if per_second is None else f"{per_second * 60:.1f}/min",
    help="interactions over the whole time range (quiet minutes included)"
    + ("" if per_second is None else f": {per_second:.3f}/s"),
)
cols[2].metric("Latency p50", f"{totals.p50:.0f} ms" if totals.interactions else "-")
cols[3].metric("Latency p99", f"{totals.p99:.0f} ms" if totals.interactions else "-")
cols[4].metric(
    "Error rate",
    data.percent(deliveries.error_rate),
    help="(failed + refused) / received webhook deliveries, every channel",
)
cols[5].metric(
    "Backlog",
    str(running["InteractionWorkflow"]["Running"]) if running else "-",
    help="InteractionWorkflows running now (from Temporal)",
)
st.caption(f"Export published {data.published_at(snapshot)} · receipt → persisted latency")

cost = data.query(snapshot, "SELECT * FROM cost_totals(utc_day(now()))").iloc[0]
spend = st.columns(2)
spend[0].metric(
    "Cost today",
    data.money(cost.cost_today),
    help="what today's (UTC) interactions cost, every channel: the provider's price, else the "
    "routing rules' rate card",
)
spend[1].metric(
    "Cost per resolved conversation",
    data.money(cost.cost_per_resolved_conversation),
    help="the cost of the conversations an agent resolved over their number, all time",
)

flow = st.columns(4)
flow[0].metric("Deliveries received", f"{int(deliveries.received):,}")
flow[1].metric("Accepted", f"{int(deliveries.accepted):,}")
flow[2].metric(
    "Refused",
    f"{int(deliveries.refused):,}",
    help="answered with an error by the ingress: signature, stale, too large, malformed, auth, "
    "unavailable",
)
flow[3].metric("Failed after acceptance", f"{int(deliveries.failed):,}")
if deliveries.received:
    st.subheader("Deliveries by provider")
    st.dataframe(
        data.query(
            snapshot,
            "SELECT provider, sum(received) AS received, sum(accepted) AS accepted, "
            "sum(refused) AS refused, sum(failed) AS failed, "
            "error_rate(sum(failed), sum(refused), sum(received)) AS error_rate "
            "FROM deliveries(?) GROUP BY provider ORDER BY provider",
            (f.since,),
        ),
        hide_index=True,
        column_config={"error_rate": st.column_config.NumberColumn("error rate", format="percent")},
    )
if deliveries.refused:
    st.subheader("Accepted vs refused deliveries")
    per_minute = data.query(
        snapshot,
        "SELECT minute, sum(accepted) AS accepted, sum(refused) AS refused FROM deliveries(?) "
        "GROUP BY ALL ORDER BY minute",
        (f.since,),
    ).melt("minute", var_name="outcome", value_name="deliveries")
    st.altair_chart(
        alt.Chart(per_minute)
        .mark_bar()
        .encode(
            x=alt.X("minute:T", title=None),
            y=alt.Y("deliveries:Q", title="deliveries per minute"),
            color="outcome:N",
        ),
        width="stretch",
    )
    st.dataframe(
        data.query(
            snapshot,
            "SELECT provider, endpoint, reason, sum(refused) AS refused FROM refused_deliveries"
            + (" WHERE minute >= ?" if f.since else "")
            + " GROUP BY ALL ORDER BY refused DESC, endpoint, reason",
            (f.since,) if f.since else (),
        ),
        hide_index=True,
    )

if not totals.interactions:
    st.info("No interactions in this time range and these channels yet.")
    st.stop()

ingest = data.query(
    snapshot,
    f"SELECT minute, channel, interactions FROM marts.ingest_rate WHERE {f.where('minute')[0]}",
    params,
)
st.subheader("Ingest rate")
st.altair_chart(
    alt.Chart(ingest)
    .mark_line(point=True)
    .encode(
        x=alt.X("minute:T", title=None),
        y=alt.Y("interactions:Q", title="interactions per minute"),
        color="channel:N",
    ),
    width="stretch",
)

latency = data.query(
    snapshot,
    f"""SELECT date_trunc('minute', received_at) AS minute,
               quantile_cont(latency_ms, 0.50) AS p50,
               quantile_cont(latency_ms, 0.95) AS p95,
               quantile_cont(latency_ms, 0.99) AS p99
        FROM interactions WHERE {where} GROUP BY ALL ORDER BY minute""",
    params,
).melt("minute", var_name="percentile", value_name="ms")
st.subheader("Receipt → persisted latency")
st.altair_chart(
    alt.Chart(latency)
    .mark_line()
    .encode(x=alt.X("minute:T", title=None), y=alt.Y("ms:Q", title="ms"), color="percentile:N"),
    width="stretch",
)
