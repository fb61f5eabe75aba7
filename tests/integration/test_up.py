"""`switchboard up` (what `make run` runs): ready, used, stopped by Ctrl-C, restarted with data."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.processes import Up, free_port, listening, switchboard


def test_up_runs_stops_on_ctrl_c_and_keeps_its_data(tmp_path: Path) -> None:
    ingress_port, temporal_port, ui_port = free_port(), free_port(), free_port()
    api_key = secrets.token_hex(8)
    env = {
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

    # Second run: the same data directory, demo traffic on, two worker processes.
    metrics = _free_ports(3)
    again = Up(
        {
            **env,
            "SWITCHBOARD_DEMO": "1",
            "SWITCHBOARD_WORKERS": "2",
            "SWITCHBOARD_WORKER_METRICS_PORT": str(metrics),
        },
        tmp_path,
    )
    try:
        again.wait_ready()
        # Two intake workers, then the analytics worker.
        for port in (metrics, metrics + 1, metrics + 2):
            assert f"127.0.0.1:{port}/metrics" in again.output
            _worker_metrics(f"http://127.0.0.1:{port}/metrics")
        found = httpx.get(f"{base}/api/customers/{customer}/interactions", headers=auth)
        assert len(found.json()["items"]) == 2
        demo_customer = _wait_for_customer(base, auth, "+14155553000", expected=1)
        assert demo_customer != customer
        # The demo's agents work its conversations, replying through the fake provider.
        worked = _wait_for_demo_agents(base, auth)
        assert worked["status"] == "resolved" and worked["disposition"]
        assert again.interrupt() == 0
    finally:
        again.kill()


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
