"""Overview: how much is coming in, how fast it is stored, what fails, what is waiting.

Interactions are live (the published export with the store's newer rows laid over it) and the
page refreshes itself; deliveries are as of the export.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from dashboards import charts, data, temporal

st.title("Overview")
selected = data.filters()


@st.fragment(run_every=data.LIVE_REFRESH_S)
def overview() -> None:
    snapshot = data.require_export()
    f = selected.refreshed()
    where, params = f.where("received_at")
    totals = data.live_query(
        snapshot,
        f"""SELECT count(*) AS interactions,
                   min(received_at) AS first,
                   count(*) FILTER (WHERE received_at >= ?) AS recent
            FROM interactions WHERE {where}""",
        (datetime.now(UTC) - data.HEADLINE_WINDOW, *params),
    ).iloc[0]
    latency = data.latency(snapshot, f).iloc[-1]  # the total row
    # Deliveries are per provider, not per channel: the channel filter does not apply to them.
    deliveries = data.query(snapshot, "SELECT * FROM delivery_totals(?)", (f.since,)).iloc[0]
    running = temporal.counts()
    window_min = data.HEADLINE_WINDOW.total_seconds() / 60
    none_yet = "no interactions in this time range and these channels"

    cols = st.columns(6)
    cols[0].metric("Interactions", f"{int(totals.interactions):,}")
    cols[1].metric(
        f"Ingest rate (last {window_min:.0f} min)",
        f"{int(totals.recent) / window_min:.1f}/min",
        help=f"interactions received in the last {window_min:.0f} minutes, per minute",
    )
    data.metric(
        cols[2],
        f"Average ({f.range_label.lower()})",
        data.per_minute(data.ingest_rate(int(totals.interactions), f.since, totals.first)),
        missing=none_yet,
        help="interactions per minute over the whole time range, quiet minutes included",
    )
    for col, name in zip(cols[3:5], ("p50", "p99"), strict=True):
        data.metric(
            col,
            f"Latency {name}",
            None if not latency.interactions else f"{latency[f'{name}_ms']:.0f} ms",
            missing=none_yet,
            help="webhook received → stored",
        )
    data.metric(
        cols[5],
        "Backlog",
        None if not running else str(running["InteractionWorkflow"]["Running"]),
        missing=f"Temporal does not answer at {data.settings().temporal_address}",
        help="InteractionWorkflows running now (from Temporal)",
    )
    data.data_age(snapshot, live_too=True)

    cost = data.query(snapshot, "SELECT * FROM cost_totals(utc_day(now()))").iloc[0]
    spend = st.columns(2)
    data.metric(
        spend[0],
        "Cost today",
        data.money(cost.cost_today),
        missing="no interaction today has a price yet",
        help="what today's (UTC) interactions cost, every channel: the provider's price, else "
        "the routing rules' rate card",
    )
    data.metric(
        spend[1],
        "Cost per resolved conversation",
        data.money(cost.cost_per_resolved_conversation),
        missing="no conversation has been resolved by an agent yet",
        help="the cost of the conversations an agent resolved over their number, all time",
    )

    flow = st.columns(5)
    flow[0].metric("Deliveries received", f"{int(deliveries.received):,}")
    flow[1].metric("Accepted", f"{int(deliveries.accepted):,}")
    flow[2].metric(
        "Refused",
        f"{int(deliveries.refused):,}",
        help="answered with an error by the ingress: signature, stale, too large, malformed, "
        "auth, unavailable",
    )
    flow[3].metric("Failed after acceptance", f"{int(deliveries.failed):,}")
    data.metric(
        flow[4],
        "Error rate",
        data.percent(deliveries.error_rate),
        missing="no webhook delivery received in this time range (as of the export)",
        help="(failed + refused) / received webhook deliveries, every channel, as of the export",
    )
    if deliveries.received:
        st.subheader("Deliveries by provider")
        data.table(
            data.query(
                snapshot,
                "SELECT provider, sum(received) AS received, sum(accepted) AS accepted, "
                "sum(refused) AS refused, sum(failed) AS failed, "
                "error_rate(sum(failed), sum(refused), sum(received)) AS error_rate "
                "FROM deliveries(?) GROUP BY provider ORDER BY provider",
                (f.since,),
            ),
            "Deliveries by provider",
            hide_index=True,
            column_config={
                "error_rate": st.column_config.NumberColumn("error rate", format="percent")
            },
        )
    if deliveries.refused:
        st.subheader("Accepted vs refused deliveries")
        per_minute = data.query(
            snapshot,
            "SELECT minute, sum(accepted) AS accepted, sum(refused) AS refused "
            "FROM deliveries(?) GROUP BY ALL ORDER BY minute",
            (f.since,),
        ).melt("minute", var_name="outcome", value_name="deliveries")
        data.chart(charts.deliveries(per_minute), "No deliveries in this time range.")
        data.table(
            data.query(
                snapshot,
                "SELECT provider, endpoint, reason, sum(refused) AS refused "
                "FROM refused_deliveries"
                + (" WHERE minute >= ?" if f.since else "")
                + " GROUP BY ALL ORDER BY refused DESC, endpoint, reason",
                (f.since,) if f.since else (),
            ),
            "Refused deliveries by reason",
            hide_index=True,
        )

    if not totals.interactions:
        st.info("No interactions in this time range and these channels yet.")
        return

    st.subheader("Ingest rate")
    ingest = data.live_query(
        snapshot,
        f"SELECT minute, channel, interactions FROM ({data.mart_sql('ingest_rate')}\n) "
        f"WHERE {f.where('minute')[0]}",
        params,
    )
    data.chart(charts.ingest_rate(ingest), "No interactions in this time range.")

    per_minute = data.latency(snapshot, f, per_minute=True)
    st.subheader("Receipt → persisted latency")
    data.chart(charts.latency(per_minute[~per_minute.total]), "No interactions in this time range.")

    days = data.live_query(
        snapshot,
        f"SELECT * FROM ({data.mart_sql('cost_daily')}\n) "
        # A day is shown when any of it is in the time range.
        f"WHERE {f.where('day + INTERVAL 1 DAY')[0]} ORDER BY day DESC, channel",
        params,
    )
    st.subheader("Cost by day and channel")
    data.table(days, "Cost by day and channel", hide_index=True)


overview()
