"""Resolution: first response, resolution time, first-contact resolution, SLA, by queue and
agent, over the conversations opened in the sidebar's time range on its channels; every rate
opens the conversations behind it."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from dashboards import charts, data, drill

st.title("Resolution")
selected = data.filters()
percent = st.column_config.NumberColumn(format="percent")
RATES = {
    "fcr_rate": percent,
    "reopen_rate": percent,
    **{column: percent for _, column, _ in data.SLA_TARGETS},
}
# Why a figure has no value yet: what has to happen first.
NOT_YET = {
    "first_response_mean_s": "no agent has replied to these conversations yet",
    "resolution_mean_s": "no agent has resolved one of these conversations yet",
    "resolution_business_mean_s": "no agent has resolved one of these conversations yet",
    "fcr_rate": "no FCR decided yet: one resolved by an agent 7 days ago with no contact since, "
    "reopened or auto-resolved",
    "reopen_rate": "none of these conversations has been resolved yet",
    "unanswered_rate": "none of these conversations has been closed yet",
    "sla_attainment": "none answered or past its first-response target yet",
    "next_response_attainment": "no next response due and met or breached yet",
    "resolution_attainment": "none resolved by an agent or past its resolution target yet",
}
HELP = {
    "Unanswered rate": "closed by the inactivity window with no agent reply, of the "
    "conversations closed",
    **{label: help_text for label, _, help_text in data.SLA_TARGETS},
}


def show_behind(figure: str, group: str = "All conversations") -> None:
    st.session_state["drill_figure"] = figure
    st.session_state["drill_group"] = group


def show_row(table: str, grouping_by: str, keys: list[str]) -> None:
    """A row selected in the per-queue or per-agent table: its conversations, for the figure
    chosen below."""
    rows = st.session_state[table].selection.rows
    if rows:
        figure = st.session_state.get("drill_figure", "Conversations")
        show_behind(figure, f"{grouping_by}: {keys[rows[0]]}")


def grouped_table(frame: pd.DataFrame, grouping_by: str, name: str) -> None:
    table = f"rows-{grouping_by}"
    data.table(
        frame,
        name,
        hide_index=True,
        column_config=RATES,
        key=table,
        on_select=partial(show_row, table, grouping_by, list(frame[grouping_by])),
        selection_mode="single-row",
    )


def rate(where: st.delta_generator.DeltaGenerator, label: str, column: str, value: float) -> None:
    data.metric(where, label, data.percent(value), NOT_YET[column], help=HELP.get(label))
    where.button(
        "Conversations",
        key=f"open-{column}",
        on_click=show_behind,
        args=(label,),
        type="tertiary",
        icon=":material/list:",
        help=f"the conversations behind {label.lower()}",
    )


def by(grouped: pd.DataFrame, key: str) -> pd.DataFrame:
    rows = grouped[~grouped.total].rename(columns={"key": key})
    if key == "agent":
        rows[key] = rows[key].fillna(data.UNASSIGNED)
    return rows.assign(
        first_response=rows.first_response_mean_s.map(data.duration),
        resolution=rows.resolution_mean_s.map(data.duration),
        handle_time=rows.handle_time_mean_s.map(data.duration),
    )[[key, "conversations", "first_response", "resolution", "handle_time", "csat_mean", *RATES]]


@st.fragment(run_every=data.EXPORT_REFRESH_S)
def resolution() -> None:
    snapshot = data.require_export()
    f = selected.refreshed()
    overall = data.resolution(snapshot, f).iloc[-1]
    data.data_age(snapshot)
    if not overall.conversations:
        st.info(
            "No conversations opened in this time range on these channels: they open with a "
            "customer's first inbound message."
        )
        return

    cols = st.columns(4)
    cols[0].metric("Conversations", f"{int(overall.conversations):,}")
    for col, (label, column) in zip(
        cols[1:],
        (
            ("First response (mean)", "first_response_mean_s"),
            ("Resolution (mean)", "resolution_mean_s"),
            ("Resolution (business hours)", "resolution_business_mean_s"),
        ),
        strict=True,
    ):
        data.metric(col, label, data.duration(overall[column]), NOT_YET[column])
    cols = st.columns(4)
    rate(cols[0], "First-contact resolution", "fcr_rate", overall.fcr_rate)
    rate(cols[1], "Reopen rate", "reopen_rate", overall.reopen_rate)
    rate(cols[2], "Unanswered rate", "unanswered_rate", overall.unanswered_rate)
    cols[3].metric("Resolved by an agent", f"{int(overall.resolved_by_agent):,}")
    cols = st.columns(4)
    data.metric(
        cols[0],
        "Time in queue (mean)",
        data.duration(overall.time_in_queue_mean_s),
        "no conversation has been assigned yet",
        help="opened or transferred to a queue → assigned",
    )
    data.metric(
        cols[1],
        "Handle time (mean)",
        data.duration(overall.handle_time_mean_s),
        "no assigned conversation has been resolved by an agent yet",
        help="assigned → resolved by an agent, less the time waiting on the customer",
    )
    data.metric(
        cols[2],
        "CSAT (mean of 5)",
        None if not overall.csat_responses else f"{overall.csat_mean:.2f}",
        "no customer has scored a resolution yet",
        help=f"{int(overall.csat_responses):,} scores of the latest resolutions",
    )
    cols[3].metric("Transfers", f"{int(overall.transfers):,}")
    st.caption(
        "Resolution times count conversations an agent resolved; rates count conversations "
        "whose outcome is decided (docs/analytics-and-dashboards.md, metric definitions)."
    )

    st.subheader("SLA targets")
    for col, (label, column, _) in zip(st.columns(3), data.SLA_TARGETS, strict=True):
        rate(col, label, column, overall[column])
    st.caption(
        "Targets in business hours on the routing rules' calendar; the resolution clock pauses "
        "while the conversation waits on the customer. Each share counts the conversations "
        "whose outcome for that target is decided."
    )

    by_queue = by(data.resolution(snapshot, f, "queue"), "queue")
    st.subheader("By queue")
    st.caption("Select a row for its conversations, under *Conversations behind a figure*.")
    grouped_table(by_queue, "queue", "Resolution by queue")
    data.chart(
        charts.attainment_by(by_queue, "queue", "sla_attainment", "first response on time"),
        "No queue has a first-response outcome decided yet.",
    )

    st.subheader("By agent")
    st.caption(
        "The agent who resolved the conversation (else the last one assigned; `unassigned`: "
        "none ever was): conversations handled, mean first response and resolution, FCR and "
        "the SLA targets."
    )
    by_agent = by(data.resolution(snapshot, f, "agent"), "agent")
    grouped_table(by_agent, "agent", "Resolution by agent")

    daily = data.query(
        snapshot,
        "SELECT day, fcr_rate, sla_attainment FROM resolution_daily(?, ?)",
        (f.since, f.channel_list),
    )
    st.subheader("Per day opened")
    data.chart(charts.daily_shares(daily), "Shares per day show once two days have some.")

    st.subheader("Conversations behind a figure")
    groups = [
        "All conversations",
        *(f"queue: {q}" for q in by_queue.queue),
        *(f"agent: {a}" for a in by_agent.agent),
    ]
    left, right = st.columns(2)
    figure = left.selectbox("Figure", list(drill.FIGURES), key="drill_figure")
    if st.session_state.get("drill_group") not in groups:
        st.session_state["drill_group"] = groups[0]
    group = right.selectbox("Queue or agent", groups, key="drill_group")
    grouping_by, _, key = group.partition(": ")
    listed = drill.conversations(snapshot, f, figure, None if not key else grouping_by, key or None)
    met = int(listed.met.sum())
    st.caption(
        f"{len(listed):,} conversations"
        if figure == "Conversations"
        else f"{len(listed):,} conversations counted, {met:,} meet it"
        + (f": {met / len(listed):.1%}" if len(listed) else "")
    )
    data.table(
        listed.rename(columns={"met": figure}),
        "Conversations behind the figure",
        hide_index=True,
        column_config={
            "timeline": st.column_config.LinkColumn("timeline", display_text="timeline"),
            "workflow": st.column_config.LinkColumn("Temporal UI", display_text="workflow"),
            "opened": st.column_config.DatetimeColumn("opened", format="YYYY-MM-DD HH:mm"),
        },
    )

    st.subheader("Cost by queue")
    st.caption(
        "What the conversations opened in the range cost (`conversation_costs` mart: each "
        "conversation's interactions, the provider's price, else the rate card)."
    )
    data.table(
        data.query(
            snapshot,
            "SELECT queue, count(*) AS conversations, sum(cost) AS cost, "
            "avg(cost) AS cost_per_conversation FROM marts.conversation_costs "
            "WHERE opened_in(opened_at, channel, ?, ?) GROUP BY queue ORDER BY cost DESC",
            (f.since, f.channel_list),
        ),
        "Cost by queue",
        hide_index=True,
    )

    st.subheader("By disposition")
    st.caption("The disposition of the agent's last resolution (none: not given, or not resolved).")
    data.table(
        by(data.resolution(snapshot, f, "disposition"), "disposition"),
        "Resolution by disposition",
        hide_index=True,
        column_config=RATES,
    )


resolution()
