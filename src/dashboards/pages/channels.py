"""Channels: volume, speed and outcome per channel."""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboards import data

st.title("Channels")
snapshot = data.require_export()
f = data.filters()
where, params = f.where("received_at")

per_channel = data.query(
    snapshot,
    f"""SELECT channel,
               count(*) AS interactions,
               count(*) FILTER (WHERE direction = 'inbound') AS inbound,
               count(*) FILTER (WHERE direction = 'outbound') AS outbound,
               count(DISTINCT customer_id) AS customers,
               count(*) FILTER (WHERE status = 'processing') AS processing,
               count(*) FILTER (WHERE status = 'failed') AS failed,
               round(quantile_cont(latency_ms, 0.50)) AS p50_ms,
               round(quantile_cont(latency_ms, 0.99)) AS p99_ms,
               avg(CAST(has_media AS DOUBLE)) AS with_media
        FROM interactions WHERE {where} GROUP BY channel ORDER BY interactions DESC""",
    params,
)
if per_channel.empty:
    st.info("No interactions in this time range and these channels yet.")
    st.stop()

st.altair_chart(
    alt.Chart(per_channel)
    .mark_bar()
    .encode(
        x=alt.X("interactions:Q"),
        y=alt.Y("channel:N", sort="-x", title=None),
        color="channel:N",
        tooltip=["channel", "interactions", "customers", "p50_ms", "p99_ms"],
    ),
    width="stretch",
)
st.dataframe(
    per_channel,
    hide_index=True,
    column_config={"with_media": st.column_config.NumberColumn("with media", format="percent")},
)

statuses = data.query(
    snapshot,
    f"""SELECT channel, coalesce(delivery_status, 'n/a') AS delivery_status, count(*) AS n
        FROM interactions WHERE {where} AND direction = 'outbound' GROUP BY ALL ORDER BY ALL""",
    params,
)
if not statuses.empty:
    st.subheader("Outbound delivery status")
    st.altair_chart(
        alt.Chart(statuses)
        .mark_bar()
        .encode(x="n:Q", y=alt.Y("channel:N", title=None), color="delivery_status:N"),
        width="stretch",
    )
