"""Every dashboard page, run by Streamlit's AppTest against a real export of a real pipeline."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from temporalio.testing import WorkflowEnvironment

from analytics import export
from analytics.privacy import Privacy
from switchboard import routing
from switchboard.contract import Identity, IdentityKind
from switchboard.store import Store
from tests.support.builders import sms_interaction, sms_raw, whatsapp_raw
from tests.support.exported import KEY
from tests.support.pipeline import run_events
from tests.support.refused import (
    EXPECTED,
    clear_of_a_minute_boundary,
    refuse_one_of_each,
    store_deliveries,
)
from tests.support.scenario import build_snapshot, scenario_table
from tests.support.stores import sqlite_store

PAGES = Path(__file__).parents[2] / "src" / "dashboards" / "views"


@pytest.fixture
def dashboard_env(
    exported: Path, temporal_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    monkeypatch.setenv("SWITCHBOARD_EXPORT_DIR", str(exported))
    monkeypatch.setenv("SWITCHBOARD_EXPORT_HASH_KEY", KEY)
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_env.client.service_client.config.target_host)
    # The run's store: the live pages read what it changed since the export (nothing here).
    monkeypatch.setenv(
        "SWITCHBOARD_DATABASE_URL", f"sqlite:///{exported.parent / 'switchboard.db'}"
    )
    st.cache_data.clear()
    st.cache_resource.clear()
    yield exported
    st.cache_data.clear()
    st.cache_resource.clear()


def run(page: str) -> AppTest:
    app = AppTest.from_file(str(PAGES / page), default_timeout=60)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def frame_with(app: AppTest, column: str) -> pd.DataFrame:
    """The one table of the page that has `column`."""
    (frame,) = [table.value for table in app.dataframe if column in table.value.columns]
    return frame


def test_overview_shows_volume_latency_and_errors(dashboard_env: Path) -> None:
    shown = metrics(run("overview.py"))
    assert shown["Interactions"] == "4"
    assert shown["Error rate"] == "0.0%"
    assert shown["Latency p50"].endswith(" ms")


def test_the_cost_marts_are_on_the_overview_and_the_resolution_page(dashboard_env: Path) -> None:
    """`cost_daily` by day and channel on the Overview, adding up to its interactions and to
    today's cost; `conversation_costs` by queue on the Resolution page, every conversation."""
    overview = run("overview.py")
    shown = metrics(overview)
    days = frame_with(overview, "unpriced")
    assert int(days.interactions.sum()) == int(shown["Interactions"])
    today = days[days.day == datetime.now(UTC).date()]
    assert shown["Cost today"] == f"{today.cost.sum():,.4f} USD"
    resolution = run("resolution.py")
    by_queue = frame_with(resolution, "cost_per_conversation")
    assert int(by_queue.conversations.sum()) == int(metrics(resolution)["Conversations"])
    assert list(by_queue.queue) == ["messaging"]


async def test_overview_shows_accepted_vs_refused_and_counts_both_in_the_error_rate(
    tmp_path: Path, temporal_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deliveries refused by the real ingress (one of each reason), beside two accepted (one
    failed): (1 failed + 6 refused) / 8 received."""
    await clear_of_a_minute_boundary()
    with sqlite_store(tmp_path) as store:
        store_deliveries(store)
        await refuse_one_of_each(store)
        root = tmp_path / "exports"
        staged = export.stage(
            store.engine, root, Privacy(KEY.encode()), routing.load().hours, datetime.now(UTC)
        )
        export.publish(root, staged, [])
    monkeypatch.setenv("SWITCHBOARD_EXPORT_DIR", str(root))
    monkeypatch.setenv("SWITCHBOARD_EXPORT_HASH_KEY", KEY)
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_env.client.service_client.config.target_host)
    st.cache_data.clear()
    st.cache_resource.clear()
    app = run("overview.py")
    shown = metrics(app)
    assert (shown["Deliveries received"], shown["Accepted"], shown["Refused"]) == ("8", "2", "6")
    assert shown["Failed after acceptance"] == "1"
    assert shown["Error rate"] == "87.5%"
    by_provider = app.dataframe[0].value.set_index("provider")
    assert dict(by_provider.error_rate) == {"push": 1.0, "sendgrid": 1.0, "twilio": 4 / 5}
    by_reason = app.dataframe[1].value
    assert sorted(by_reason.reason) == sorted(str(reason) for _, reason in EXPECTED)
    st.cache_data.clear()
    st.cache_resource.clear()


def test_channels_lists_each_channel(dashboard_env: Path) -> None:
    app = run("channels.py")
    table = app.dataframe[0].value
    assert list(table.channel) == ["sms"]
    assert int(table.interactions[0]) == 4 and int(table.customers[0]) == 2
    assert int(table.failed[0]) == 0  # the life cycle's failed ones, counted per channel


async def test_the_channels_filter_shows_whatsapp_apart_from_sms(
    tmp_path: Path, temporal_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One person texts twice and writes once on WhatsApp: two channels, one customer; the
    sidebar's channel filter narrows the page to WhatsApp alone."""
    phone = "+447700900123"
    with sqlite_store(tmp_path) as store:
        raws = [sms_raw(phone, "hi"), sms_raw(phone, "order?"), whatsapp_raw(phone, "there?")]
        await run_events(temporal_env.client, store, f"tq-{tmp_path.name}", raws)
        root = tmp_path / "exports"
        staged = export.stage(
            store.engine, root, Privacy(KEY.encode()), routing.load().hours, datetime.now(UTC)
        )
        export.publish(root, staged, [])
    monkeypatch.setenv("SWITCHBOARD_EXPORT_DIR", str(root))
    monkeypatch.setenv("SWITCHBOARD_EXPORT_HASH_KEY", KEY)
    st.cache_data.clear()
    st.cache_resource.clear()
    app = run("channels.py")
    assert "whatsapp" in app.sidebar.multiselect[0].options
    table = app.dataframe[0].value
    assert dict(zip(table.channel, table.interactions, strict=True)) == {"sms": 2, "whatsapp": 1}
    app.sidebar.multiselect[0].set_value(["whatsapp"]).run()
    table = app.dataframe[0].value
    assert list(table.channel) == ["whatsapp"] and int(table.customers[0]) == 1
    st.cache_data.clear()
    st.cache_resource.clear()


def test_resolution_shows_conversations_by_queue(dashboard_env: Path) -> None:
    app = run("resolution.py")
    assert metrics(app)["Conversations"] == "2"
    # Each conversation takes the queue of the message that opened it.
    assert list(app.dataframe[0].value.queue) == ["messaging"]


def test_resolution_shows_the_scenario_s_hand_computed_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tests/support/scenario.py's conversations, published alone: the page's figures are the
    hand-computed ones, for all channels and for email only."""
    build_snapshot(tmp_path, scenario_table())
    monkeypatch.setenv("SWITCHBOARD_EXPORT_DIR", str(tmp_path))
    st.cache_data.clear()
    st.cache_resource.clear()
    app = run("resolution.py")
    app.sidebar.selectbox[0].select("Everything").run()
    shown = metrics(app)
    assert shown["Conversations"] == "9"
    assert shown["First response (mean)"] == "9h 43m"  # 245,100 s / 7 = 35,014 s
    assert shown["Resolution (mean)"] == "1d 22h"  # 1,173,000 s / 7 = 167,571 s
    assert shown["Resolution (business hours)"] == "5h 45m"  # 145,200 s / 7 = 20,743 s
    assert shown["First-contact resolution"] == "57.1%"  # 4 of 7
    assert shown["Reopen rate"] == "12.5%"  # 1 of 8
    assert shown["Unanswered rate"] == "12.5%"
    assert shown["Resolved by an agent"] == "7"
    assert shown["First response on time"] == "66.7%"  # 6 of 9
    assert shown["Next responses on time"] == "33.3%"  # 1 of 3
    assert shown["Resolution on time"] == "66.7%"  # 2 of 3
    assert shown["Time in queue (mean)"] == "9h 29m"  # 238,980 s / 7 = 34,140 s
    assert shown["Handle time (mean)"] == "1d 3h"  # 685,920 s / 7 = 97,989 s
    assert shown["CSAT (mean of 5)"] == "4.50" and shown["Transfers"] == "1"
    by_disposition = frame_with(app, "disposition").set_index("disposition")
    assert by_disposition.loc["answered"].csat_mean == 4.0  # c1
    assert by_disposition.loc["refund_issued"].handle_time == "50m 0s"  # c6
    by_agent = app.dataframe[1].value.set_index("agent")
    assert list(by_agent.conversations.loc[["ana", "bo"]]) == [4, 3]
    assert list(by_agent.first_response.loc[["ana", "bo"]]) == ["18m 45s", "22h 16m"]
    assert list(by_agent.resolution.loc[["ana", "bo"]]) == ["1d 22h", "1d 22h"]
    assert by_agent.loc["ana"].fcr_rate == 1 / 3 and by_agent.loc["bo"].fcr_rate == 1.0
    assert list(by_agent.next_response_attainment.loc[["ana", "bo"]]) == [0.5, 0.0]
    assert list(by_agent.resolution_attainment.loc[["ana", "bo"]]) == [0.5, 1.0]
    app.sidebar.multiselect[0].set_value(["email"]).run()
    shown = metrics(app)
    assert shown["Conversations"] == "4"  # c2, c6, c7, c9
    assert shown["First-contact resolution"] == "100.0%"  # c2, c6, c9 (c7 undecided)
    assert shown["Resolution on time"] == "0.0%"  # c9
    st.cache_data.clear()
    st.cache_resource.clear()


def test_the_timeline_finds_a_customer_by_phone_in_any_spelling(dashboard_env: Path) -> None:
    app = run("timeline.py")
    app.text_input[0].input("(415) 555-0161").run()
    assert not app.exception
    assert metrics(app)["Interactions"] == "3"
    assert "+14155550161" not in str(app.dataframe[0].value)  # exports hold no addresses


def test_data_quality_without_results_says_so(dashboard_env: Path) -> None:
    app = run("quality.py")
    assert "No export batch has been validated yet." in app.info[0].value


def test_pipeline_counts_workflows_from_temporal(dashboard_env: Path) -> None:
    app = run("pipeline.py")
    assert int(metrics(app)["Interactions running"]) >= 0
    assert "InteractionWorkflow" in app.dataframe[0].value.index


def test_pipeline_shows_uptime_per_service_from_the_supervisor(
    dashboard_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = {"running": True, "restarts": 1, "last_exit_code": -9, "up_s": 99.0}
    status = {"services": {"ingress": {**service, "down_s": 1.0, "uptime": 0.99}}}
    (tmp_path / "supervisor.json").write_text(json.dumps(status))
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path))
    app = run("pipeline.py")
    uptime = app.dataframe[1].value
    assert uptime.loc["ingress", "uptime %"] == 99.0
    assert uptime.loc["ingress", "restarts"] == 1


def test_failures_lists_from_temporal_and_shows_the_retry_command(
    dashboard_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'store.db'}")
    store.migrate()
    store.close()
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    app = run("failures.py")
    assert not app.warning
    assert "switchboard failures retry" in app.code[0].value
    assert not app.button  # read-only: the page never acts


@pytest.mark.parametrize("page", sorted(p.name for p in PAGES.glob("*.py") if p.stem != "__init__"))
def test_every_page_has_a_helpful_empty_state(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWITCHBOARD_EXPORT_DIR", str(tmp_path / "nothing-yet"))
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")  # nobody there
    st.cache_data.clear()
    st.cache_resource.clear()
    app = run(page)
    said = [*(i.value for i in app.info), *(w.value for w in app.warning)]
    assert said, f"{page} shows nothing to explain the empty state"
    # Pipeline and failures read Temporal, events out the store, not the exports.
    if page not in ("pipeline.py", "failures.py", "deliveries.py"):
        assert "No export has been published yet" in said[0] or "validated" in said[0]


def test_events_out_shows_delivery_health_per_subscription(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from switchboard.store import Store
    from switchboard.store.subscriptions import SubscriptionStore

    url = f"sqlite:///{tmp_path / 'switchboard.db'}"
    monkeypatch.chdir(tmp_path)  # no `.env` or `data/` of the working tree is read
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", url)
    st.cache_data.clear()
    st.cache_resource.clear()
    store = Store.from_url(url)
    store.migrate()
    empty = run("deliveries.py")
    assert "No subscriptions" in empty.info[0].value
    subs = SubscriptionStore(store.engine)
    sub = subs.create("https://crm.example.com/h?token=x", ["*"], None, False)
    st.cache_data.clear()
    app = run("deliveries.py")
    assert metrics(app)["Subscriptions"] == "1"
    table = app.dataframe[0].value
    assert list(table.host) == ["crm.example.com"]
    assert list(table.breaker) == ["closed"]
    subs.disable(sub["subscription_id"], "every delivery failed for 5.0 days")
    st.cache_data.clear()
    app = run("deliveries.py")
    assert metrics(app)["Disabled"] == "1"
    assert list(app.dataframe[0].value["disabled because"]) == [
        "every delivery failed for 5.0 days"
    ]
    store.close()
    st.cache_data.clear()
    st.cache_resource.clear()


def test_the_ingest_rate_spans_the_whole_time_range() -> None:
    """120 interactions in the last hour are 2/min, however few minutes had traffic."""
    from datetime import UTC, datetime, timedelta

    from dashboards.data import ingest_rate

    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert ingest_rate(120, now - timedelta(hours=1), None, now) == 120 / 3600
    # Everything: from the first interaction on.
    assert ingest_rate(60, None, now - timedelta(minutes=30), now) == 60 / 1800
    assert ingest_rate(0, None, None, now) is None


def sms_at(store: Store, sender: str, at: datetime) -> None:
    customer = store.resolve_customer(Identity(IdentityKind.PHONE, sender))
    store.persist_interaction(*sms_interaction(customer, sender, at))


def publish(store: Store, root: Path) -> None:
    staged = export.stage(
        store.engine, root, Privacy(KEY.encode()), routing.load().hours, datetime.now(UTC)
    )
    export.publish(root, staged, [])


def point_at(monkeypatch: pytest.MonkeyPatch, root: Path, store: Store | None) -> None:
    monkeypatch.setenv("SWITCHBOARD_EXPORT_DIR", str(root))
    monkeypatch.setenv("SWITCHBOARD_EXPORT_HASH_KEY", KEY)
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")  # nobody there
    url = store.engine.url.render_as_string(False) if store else f"sqlite:///{root}/none.db"
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", url)
    st.cache_data.clear()
    st.cache_resource.clear()


def test_the_overview_headline_is_the_last_five_minutes_and_shows_the_store_s_newest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """27 SMS 40 minutes ago and 3 two minutes ago, exported; then 2 more, not exported yet:
    the headline counts the last 5 minutes (from the store too), the average the hour."""
    now = datetime.now(UTC)
    with sqlite_store(tmp_path) as store:
        for i in range(27):
            sms_at(store, f"+1415555{i:04d}", now - timedelta(minutes=40))
        for i in range(3):
            sms_at(store, f"+1415666{i:04d}", now - timedelta(minutes=2))
        root = tmp_path / "exports"
        publish(store, root)
        point_at(monkeypatch, root, store)
        app = run("overview.py")
        app.sidebar.selectbox[0].select("Last hour").run()
        shown = metrics(app)
        assert shown["Interactions"] == "30"
        assert shown["Ingest rate (last 5 min)"] == "0.6/min"  # 3 in 5 minutes
        assert shown["Average (last hour)"] == "0.5/min"  # 30 in 60 minutes
        assert "published" in app.caption[0].value and "0 newer" in app.caption[0].value

        sms_at(store, "+14157770001", datetime.now(UTC))
        sms_at(store, "+14157770002", datetime.now(UTC))
        st.cache_data.clear()  # what LIVE_TTL_S seconds do
        app.run()
        shown = metrics(app)
        assert shown["Interactions"] == "32"
        assert shown["Ingest rate (last 5 min)"] == "1.0/min"
        assert "2 newer ones read from the store" in app.caption[0].value
        channels = run("channels.py")
        assert int(channels.dataframe[0].value.interactions[0]) == 32
    st.cache_data.clear()
    st.cache_resource.clear()


def test_a_figure_without_a_value_is_a_dash_with_its_reason_on_hover(dashboard_env: Path) -> None:
    """The pipeline run's two conversations are open, no agent touched them."""
    app = run("resolution.py")
    shown = {m.label: m for m in app.metric}
    for label, reason in (
        ("First response (mean)", "no agent has replied"),
        ("First-contact resolution", "no FCR decided yet"),
        ("Reopen rate", "resolved yet"),
        ("First response on time", "none answered"),
    ):
        assert shown[label].value == "—", label
        assert reason in shown[label].help, label
    assert shown["Conversations"].value == "2"
    empty = run("overview.py")
    empty.sidebar.multiselect[0].set_value(["email"]).run()
    latency = {m.label: m for m in empty.metric}["Latency p50"]
    assert (latency.value, latency.help) == (
        "—",
        "no interactions in this time range and these channels",
    )


def test_conversations_no_agent_took_are_unassigned_and_empty_charts_say_so(
    dashboard_env: Path,
) -> None:
    app = run("resolution.py")
    by_agent = app.dataframe[1].value
    assert list(by_agent.agent) == ["unassigned"]
    assert "None" not in by_agent.to_csv()
    said = [i.value for i in app.info]
    assert "No queue has a first-response outcome decided yet." in said
    assert not app.get("arrow_vega_lite_chart")  # no chart of nothing (no "0.000000%")


@pytest.mark.parametrize("page", ["overview.py", "channels.py", "resolution.py", "pipeline.py"])
def test_every_table_can_be_downloaded_as_csv(dashboard_env: Path, page: str) -> None:
    app = run(page)
    buttons = app.get("download_button")
    assert app.dataframe and len(buttons) == len(app.dataframe)
    assert all(b.label == "Download CSV" for b in buttons)


def test_the_timeline_opens_on_the_customer_a_link_names(dashboard_env: Path) -> None:
    # The drill-down's list (every conversation, newest first): the table with their channels.
    listed = next(d.value for d in run("resolution.py").dataframe if "channels" in d.value)
    ana = listed[listed.channels == "sms"].customer.iloc[-1]
    app = AppTest.from_file(str(PAGES / "timeline.py"), default_timeout=60)
    app.query_params["customer"] = ana
    app.run()
    assert not app.exception
    assert metrics(app)["Interactions"] in ("3", "1")  # Ana's three SMS, or Ben's one
    assert app.sidebar.selectbox[0].value == "Everything"  # the link names no time range
    assert not app.warning
    assert len(app.dataframe[0].value) == int(metrics(app)["Interactions"])


DRILLED = {  # figure: (conversations counted, conversations meeting it), hand-computed
    "Conversations": (9, 9),
    "First-contact resolution": (7, 4),
    "Reopen rate": (8, 1),
    "Unanswered rate": (8, 1),
    "First response on time": (9, 6),
    "Next responses on time": (3, 1),
    "Resolution on time": (3, 2),
}


def test_each_resolution_figure_opens_the_conversations_behind_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the scenario's conversations, every figure's list holds as many conversations as
    it counts, and as many meet it as the figure says; a KPI's button opens its list."""
    from dashboards.drill import FIGURES

    build_snapshot(tmp_path, scenario_table())
    point_at(monkeypatch, tmp_path, None)
    app = run("resolution.py")
    app.sidebar.selectbox[0].select("Everything").run()
    assert set(DRILLED) == set(FIGURES)
    shown = metrics(app)
    for figure, (counted, met) in DRILLED.items():
        app.selectbox(key="drill_figure").select(figure).run()
        listed = app.dataframe[2].value
        assert (len(listed), int(listed[figure].sum())) == (counted, met), figure
        if figure != "Conversations":
            assert shown[figure] == f"{met / counted:.1%}", figure
    assert list(listed.columns[:7]) == [
        "conversation",
        "customer",
        "channels",
        "queue",
        "agent",
        "opened",
        "outcome",
    ]
    row = listed.iloc[0]
    assert row.timeline == f"timeline?customer={row.customer}"
    assert row.workflow == (
        f"http://127.0.0.1:8233/namespaces/default/workflows/conversation%3A{row.customer}"
    )

    # Each row of the per-queue and per-agent tables: its conversations, its FCR.
    by_queue = app.dataframe[0].value.set_index("queue")
    by_agent = app.dataframe[1].value.set_index("agent")
    for group, row in [
        *((f"queue: {q}", r) for q, r in by_queue.iterrows()),
        *((f"agent: {a}", r) for a, r in by_agent.iterrows()),
    ]:
        app.selectbox(key="drill_group").select(group).run()
        app.selectbox(key="drill_figure").select("Conversations").run()
        assert len(app.dataframe[2].value) == row.conversations, group
        app.selectbox(key="drill_figure").select("First-contact resolution").run()
        listed = app.dataframe[2].value
        share = listed["First-contact resolution"].mean() if len(listed) else None
        assert share == (None if pd.isna(row.fcr_rate) else pytest.approx(row.fcr_rate)), group
    assert "agent: unassigned" in app.selectbox(key="drill_group").options

    app.selectbox(key="drill_group").select("All conversations").run()
    app.button(key="open-reopen_rate").click().run()
    assert app.selectbox(key="drill_figure").value == "Reopen rate"
    assert len(app.dataframe[2].value) == 8
    st.cache_data.clear()
    st.cache_resource.clear()


def test_the_latency_figures_are_the_mart_s_and_metrics_json_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nine SMS received 1 to 9 seconds before they were stored, exported: the Overview's and
    the Channels' latency figures are the marts' and `switchboard metrics --json`'s; with two
    more not exported yet, the live pages' figures are still `metrics --json`'s (the store's),
    and the next export's."""
    from typer.testing import CliRunner

    from runtime.cli import app as cli

    def metrics_json() -> dict[str, float]:
        result = CliRunner().invoke(cli, ["metrics", "--json"])
        assert result.exit_code == 0, result.output
        figures: dict[str, float] = json.loads(result.stdout)
        return figures

    def pages_agree_with(figures: dict[str, float], interactions: int) -> None:
        st.cache_data.clear()  # what LIVE_TTL_S seconds do
        shown = metrics(run("overview.py"))
        assert shown["Interactions"] == str(interactions) == str(figures["interactions"])
        assert shown["Latency p50"] == f"{figures['latency_p50_ms']:.0f} ms"
        assert shown["Latency p99"] == f"{figures['latency_p99_ms']:.0f} ms"
        (sms,) = run("channels.py").dataframe[0].value.itertuples()
        # Whole milliseconds, as DuckDB rounds (half away from zero).
        assert sms.p50_ms == math.floor(figures["latency_p50_ms"] + 0.5)
        assert sms.p99_ms == math.floor(figures["latency_p99_ms"] + 0.5)

    def mart(root: Path, sql: str) -> list[tuple[Any, ...]]:
        con = duckdb.connect(str(root / "current" / "marts.duckdb"), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path))
    with sqlite_store(tmp_path) as store:
        now = datetime.now(UTC)
        for i in range(1, 10):
            sms_at(store, f"+1415555{i:04d}", now - timedelta(seconds=i))
        root = tmp_path / "exports"
        publish(store, root)
        point_at(monkeypatch, root, store)
        figures = metrics_json()
        ((p50, p99, n),) = mart(
            root, "SELECT latency_p50_ms, latency_p99_ms, interactions FROM resolution_overall"
        )
        assert (p50, p99, n) == (
            figures["latency_p50_ms"],
            figures["latency_p99_ms"],
            figures["interactions"],
        )
        assert 5_000 <= p50 < 6_000 and 8_900 <= p99 < 10_000  # 1 s to 9 s, and the commit
        assert mart(root, "SELECT sum(interactions) FROM latency") == [(9,)]
        pages_agree_with(figures, 9)

        sms_at(store, "+14157770001", datetime.now(UTC) - timedelta(seconds=30))
        sms_at(store, "+14157770002", datetime.now(UTC) - timedelta(seconds=20))
        live = metrics_json()
        assert live["latency_p99_ms"] > 19_000
        pages_agree_with(live, 11)
        publish(store, root)
        ((p99,),) = mart(root, "SELECT latency_p99_ms FROM resolution_overall")
        assert p99 == live["latency_p99_ms"]
    st.cache_data.clear()
    st.cache_resource.clear()
