"""Channels: volume, speed and outcome per channel, live (the published export with the store's
newer interactions laid over it); the page refreshes itself."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, data

st.title("Channels")
selected = data.filters()


@st.fragment(run_every=data.LIVE_REFRESH_S)
def channels() -> None:
    snapshot = data.require_export()
    f = selected.refreshed()
    where, params = f.where("received_at")
    # Latency is the `latency(...)` figure of analytics/metrics.sql, per channel.
    per_channel = data.live_query(
        snapshot,
        f"""SELECT channel,
                   count(*) AS interactions,
                   count(*) FILTER (WHERE direction = 'inbound') AS inbound,
                   count(*) FILTER (WHERE direction = 'outbound') AS outbound,
                   count(DISTINCT customer_id) AS customers,
                   count(*) FILTER (WHERE status = 'processing') AS processing,
                   count(*) FILTER (WHERE status = 'failed') AS failed,
                   round(any_value(latency.p50_ms)) AS p50_ms,
                   round(any_value(latency.p99_ms)) AS p99_ms,
                   avg(CAST(has_media AS DOUBLE)) AS with_media
            FROM interactions JOIN latency(?, ?, false, true) AS latency USING (channel)
            WHERE {where} GROUP BY channel ORDER BY interactions DESC""",
        (f.since, f.channel_list, *params),
    )
    data.data_age(snapshot, live_too=True)
    if per_channel.empty:
        st.info("No interactions in this time range and these channels yet.")
        return

    data.chart(charts.per_channel(per_channel), "No interactions in this time range.")
    data.table(
        per_channel,
        "Interactions per channel",
        hide_index=True,
        column_config={"with_media": st.column_config.NumberColumn("with media", format="percent")},
    )

    statuses = data.live_query(
        snapshot,
        f"""SELECT channel, coalesce(delivery_status, 'n/a') AS delivery_status, count(*) AS n
            FROM interactions WHERE {where} AND direction = 'outbound'
            GROUP BY ALL ORDER BY ALL""",
        params,
    )
    st.subheader("Outbound delivery status")
    data.chart(
        charts.delivery_status(statuses),
        "No outbound messages in this time range and these channels.",
    )


channels()
