"""Every dashboard page, run by Streamlit's AppTest against a real export of a real pipeline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from temporalio.testing import WorkflowEnvironment

from analytics import export
from analytics.privacy import Privacy
from switchboard import routing
from switchboard.store import Store
from tests.support.builders import sms_raw, whatsapp_raw
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

PAGES = Path(__file__).parents[2] / "src" / "dashboards" / "pages"


@pytest.fixture
def dashboard_env(
    exported: Path, temporal_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    monkeypatch.setenv("SWITCHBOARD_EXPORT_DIR", str(exported))
    monkeypatch.setenv("SWITCHBOARD_EXPORT_HASH_KEY", KEY)
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_env.client.service_client.config.target_host)
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


def test_overview_shows_volume_latency_and_errors(dashboard_env: Path) -> None:
    shown = metrics(run("overview.py"))
    assert shown["Interactions"] == "4"
    assert shown["Error rate"] == "0.0%"
    assert shown["Latency p50"].endswith(" ms")


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
    by_disposition = app.dataframe[2].value.set_index("disposition")
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
