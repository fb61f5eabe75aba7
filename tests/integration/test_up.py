"""`switchboard up` (what `make run` runs): ready, used, stopped by Ctrl-C, restarted with data."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.browser import Page, open_page
from tests.support.processes import Up, env_example, free_port, listening, switchboard


@dataclass
class FirstRun:
    """`up`'s first run, stopped: where its data is, how it was started, what it stored."""

    cwd: Path
    env: dict[str, str]
    base: str
    auth: dict[str, str]
    customer: str


@dataclass
class DemoUp:
    """`up` running again on the first run's data, as `make run` runs it: demo traffic and
    demo agents on, replies to the local fake provider."""

    up: Up
    first: FirstRun
    dashboards: str
    metrics_port: int


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    """`up` with the demo off: ready, used, exported, stopped by Ctrl-C."""
    tmp_path = tmp_path_factory.mktemp("up")
    ingress_port, temporal_port, ui_port = free_port(), free_port(), free_port()
    api_key = secrets.token_hex(8)
    env = {
        # What `make run` reads from .env, which it copies from .env.example: every channel's
        # secrets, so the demo plays every channel.
        **env_example(),
        "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"),
        "SWITCHBOARD_DATABASE_URL": "",
        "SWITCHBOARD_INGRESS_PORT": str(ingress_port),
        "SWITCHBOARD_TEMPORAL_PORT": str(temporal_port),
        "SWITCHBOARD_TEMPORAL_UI_PORT": str(ui_port),
        "SWITCHBOARD_TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "SWITCHBOARD_API_KEYS": api_key,
        "SWITCHBOARD_PUBLIC_URL": "",
        "SWITCHBOARD_DEMO": "0",
        # The worker's, then the analytics worker's.
        "SWITCHBOARD_WORKER_METRICS_PORT": str(_free_ports(2)),
        "SWITCHBOARD_DASHBOARD_PORT": str(free_port()),
    }
    base = f"http://127.0.0.1:{ingress_port}"
    auth = {"Authorization": f"Bearer {api_key}"}

    up = Up(env, tmp_path)
    try:
        up.wait_ready()
        assert base in up.output and f"127.0.0.1:{ui_port}" in up.output
        assert httpx.get(f"http://127.0.0.1:{ui_port}", timeout=10).status_code == 200
        sent = subprocess.run(
            [
                sys.executable,
                "-m",
                "runtime",
                "simulate",
                "sms",
                "--count",
                "2",
                "--from",
                "+1 415 555 0166",
                "--url",
                base,
            ],
            env={**os.environ, **env},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sent.returncode == 0, sent.stdout + sent.stderr
        customer = _wait_for_customer(base, auth, "+14155550166", expected=2)
        # The export runs in the analytics worker, a process of its own on a task queue of
        # its own: `switchboard export` waits for it there.
        exporting = switchboard(
            ["export"], {**env, "TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}"}, tmp_path
        )
        exported, _ = exporting.communicate(timeout=120)
        assert exporting.returncode == 0, exported
        assert b"published" in exported or b"nothing changed" in exported
        assert (tmp_path / "data" / "exports").is_dir()
        assert up.interrupt() == 0
    finally:
        up.kill()
    assert "stopping" in up.output
    assert not listening(ingress_port) and not listening(temporal_port)
    return FirstRun(tmp_path, env, base, auth, customer)


@pytest.fixture(scope="module")
def demo_up(first_run: FirstRun) -> Iterator[DemoUp]:
    """The second run: the same data directory, demo traffic on, two worker processes. One
    `up` for this module's tests (the suite's time is short)."""
    metrics = _free_ports(3)
    again = Up(
        {
            **first_run.env,
            "SWITCHBOARD_DEMO": "1",
            "SWITCHBOARD_WORKERS": "2",
            "SWITCHBOARD_WORKER_METRICS_PORT": str(metrics),
        },
        first_run.cwd,
    )
    try:
        again.wait_ready()
        port = first_run.env["SWITCHBOARD_DASHBOARD_PORT"]
        yield DemoUp(again, first_run, f"http://127.0.0.1:{port}/", metrics)
        assert again.interrupt() == 0
    finally:
        again.kill()


@pytest.mark.timeout(400)
def test_up_runs_stops_on_ctrl_c_and_keeps_its_data(demo_up: DemoUp) -> None:
    first, metrics = demo_up.first, demo_up.metrics_port
    # Two intake workers, then the analytics worker.
    for port in (metrics, metrics + 1, metrics + 2):
        assert f"127.0.0.1:{port}/metrics" in demo_up.up.output
        _worker_metrics(f"http://127.0.0.1:{port}/metrics")
    found = httpx.get(
        f"{first.base}/api/customers/{first.customer}/interactions", headers=first.auth
    )
    assert len(found.json()["items"]) == 2
    # The demo's customers come in (the first run's customer is none of them).
    assert _wait_for_customers(first.base, first.auth, more_than=1)
    # The demo's agents work its conversations, replying through the fake provider.
    worked = _wait_for_demo_agents(first.base, first.auth)
    assert worked["status"] == "resolved" and worked["disposition"]


# Every figure on the Overview and Resolution pages, as labelled there.
OVERVIEW = (
    "Interactions",
    "Ingest rate (last 5 min)",
    "Average (last 24 hours)",
    "Latency p50",
    "Latency p99",
    "Backlog",
    "Cost today",
    "Cost per resolved conversation",
    "Deliveries received",
    "Accepted",
    "Refused",
    "Failed after acceptance",
    "Error rate",
)
RESOLUTION = (
    "Conversations",
    "First response (mean)",
    "Resolution (mean)",
    "Resolution (business hours)",
    "First-contact resolution",
    "Reopen rate",
    "Unanswered rate",
    "Resolved by an agent",
    "Time in queue (mean)",
    "Handle time (mean)",
    "CSAT (mean of 5)",
    "Transfers",
    "First response on time",
    "Next responses on time",
    "Resolution on time",
)
NO_VALUE = ("", "—", "None", "nan")


@pytest.mark.browser
@pytest.mark.timeout(400)
def test_make_runs_dashboards_have_a_value_for_every_figure_and_drill_down(
    demo_up: DemoUp,
) -> None:
    """What a new user sees after `make run`: every figure of the Overview and Resolution
    pages has a value once the demo has played for a while (its agents act within seconds),
    a Resolution figure opens its conversations and one of them its customer's timeline, and
    the Overview updates itself without a reload."""
    with open_page(demo_up.dashboards) as page:
        overview = _figures(page, OVERVIEW, within_s=150)
        # The same document all along: the page refreshes itself, never reloads.
        page.evaluate("window.stillTheSamePage = true")
        before = (overview["Interactions"], _published(page))
        deadline = time.monotonic() + 30
        while True:
            now = (_figure(page, "Interactions"), _published(page))
            if "" not in now and now != before:
                break
            assert time.monotonic() < deadline, f"the Overview did not change: {before}"
            time.sleep(0.5)
        assert page.evaluate("window.stillTheSamePage") is True

        page.navigate(demo_up.dashboards + "resolution")
        figures = _figures(page, RESOLUTION, within_s=60)
        # A share, on the few conversations of the demo's first minute (its believable level
        # over more rounds: tests/runtime/test_agents.py).
        assert figures["Reopen rate"].endswith("%"), figures["Reopen rate"]
        by_queue, by_agent = _table(page, "queue"), _table(page, "agent")
        for rows in (by_queue, by_agent):
            assert rows and all(row[0] not in NO_VALUE and row[1] for row in rows), rows
            assert not [cell for row in rows for cell in row if cell == "None"], rows

        # A figure opens the conversations behind it; one of them, its customer's timeline.
        assert page.click(".st-key-open-reopen_rate button")
        deadline = time.monotonic() + 30
        while not any(
            line.endswith("conversations counted") or " counted, " in line
            for line in page.text().splitlines()
        ):
            assert time.monotonic() < deadline, "the drill-down lists nothing"
            time.sleep(0.5)
        behind = _table(page, "conversation")
        assert behind, "no conversation behind the reopen rate"
        # The oldest in view: the newest may have opened after the export read interactions.
        conversation, customer = behind[-1][0], behind[-1][1]
        page.navigate(demo_up.dashboards + f"timeline?customer={customer}")
        deadline = time.monotonic() + 60
        while conversation not in [row[7] for row in _table(page, "occurred_at") if len(row) > 7]:
            assert time.monotonic() < deadline, (
                f"no timeline entry of {conversation}: {page.text()[-600:]}"
            )
            time.sleep(0.5)
        assert int(_figure(page, "Interactions")) >= 1


def _figures(page: Page, labels: tuple[str, ...], within_s: float) -> dict[str, str]:
    """The page's figures once every one of `labels` has a value (the page refreshes itself
    as the demo plays); fails with those that have none after `within_s`."""
    deadline = time.monotonic() + within_s
    seen: dict[str, str] = {}
    while True:
        # A rerun replaces elements in steps: a reading may miss some; the latest value counts.
        seen |= {label: value for label, value in page.metrics() if label in labels}
        empty = {label: seen.get(label, "(not shown)") for label in labels}
        empty = {
            label: value for label, value in empty.items() if value in (*NO_VALUE, "(not shown)")
        }
        if not empty:
            return seen
        assert time.monotonic() < deadline, (
            f"figures without a value after {within_s:.0f} s: {empty}"
        )
        time.sleep(1)


def _figure(page: Page, label: str) -> str:
    return dict(page.metrics()).get(label, "")


def _published(page: Page) -> str:
    return next((line for line in page.text().splitlines() if "published" in line), "")


def _table(page: Page, first_column: str) -> list[list[str]]:
    """The rows in view of the page's table whose first column is `first_column`."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for table in page.tables():
            if table and table[0] and table[0][0] == first_column and len(table) > 1:
                return table[1:]
        time.sleep(0.5)
    return []


def _free_ports(count: int) -> int:
    """The first of `count` free ports in a row: the workers serve their metrics there."""
    while True:
        port = free_port()
        if port + count <= 65536 and not any(listening(port + i) for i in range(1, count)):
            return port


def _worker_metrics(url: str) -> str:
    """The worker's Temporal metrics at `url`, once its worker has polled."""
    deadline = time.monotonic() + 30
    text = ""
    while time.monotonic() < deadline:
        try:
            text = httpx.get(url, timeout=5).text
        except httpx.HTTPError:
            text = ""
        if "temporal_" in text:
            return text
        time.sleep(0.3)
    raise AssertionError(f"no worker's Temporal metrics at {url}: {text[:200]!r}")


def _wait_for_customer(base: str, auth: dict[str, str], phone: str, expected: int) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = httpx.get(f"{base}/api/customers", params={"phone": phone}, headers=auth)
        if response.status_code == 200 and response.json()["items"]:
            customer_id = str(response.json()["items"][0]["customer_id"])
            items = httpx.get(
                f"{base}/api/customers/{customer_id}/interactions", headers=auth
            ).json()["items"]
            if len(items) >= expected:
                return customer_id
        time.sleep(0.3)
    raise AssertionError(f"no customer with {expected} interactions for {phone}")


def _wait_for_customers(base: str, auth: dict[str, str], more_than: int) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = httpx.get(f"{base}/api/customers", headers=auth)
        if response.status_code == 200 and len(response.json()["items"]) > more_than:
            return True
        time.sleep(0.3)
    return False


def _wait_for_demo_agents(base: str, auth: dict[str, str]) -> dict[str, object]:
    """A conversation the demo's agents replied to and resolved with a disposition."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        resolved = httpx.get(
            f"{base}/api/conversations", params={"status": "resolved"}, headers=auth
        ).json()
        for row in resolved["items"]:
            if row["disposition"] is None:
                continue
            found: dict[str, object] = httpx.get(
                f"{base}/api/conversations/{row['conversation_id']}", headers=auth
            ).json()
            events = found["events"]
            assert isinstance(events, list)
            if any(e["kind"] == "interaction" and e["actor"] for e in events):
                assert all(str(e["actor"]).startswith("key:demo-") for e in events if e["actor"])
                return found
        time.sleep(1)
    raise AssertionError("the demo's agents resolved no conversation they replied to in 90 s")
