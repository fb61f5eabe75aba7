"""The dashboards in a real browser: headless Chromium (Debian's) loads the running
`switchboard dashboards`, and the Overview it renders shows the export's numbers."""

from __future__ import annotations

import re
import shutil
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.support.browser import open_page
from tests.support.exported import KEY
from tests.support.processes import free_port, switchboard

pytestmark = pytest.mark.browser


def test_the_overview_in_a_browser_shows_the_exported_numbers(
    exported: Path, tmp_path: Path
) -> None:
    # A copy of its own: the session's export is open in this process (the pages' tests), and
    # a DuckDB file another process holds is not one the dashboards' process may attach.
    own = shutil.copytree(exported, tmp_path / "export")
    port = free_port()
    env = {
        "SWITCHBOARD_EXPORT_DIR": str(own),
        "SWITCHBOARD_EXPORT_HASH_KEY": KEY,
        "SWITCHBOARD_DASHBOARD_PORT": str(port),
        "TEMPORAL_ADDRESS": "127.0.0.1:1",  # the Overview reads the export; Temporal is optional
    }
    server = switchboard(["dashboards"], env, tmp_path)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "_stcore/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "no dashboards"
            time.sleep(0.3)
        with open_page(url) as page:
            # Streamlit renders and reruns in steps: read the page until one reading holds
            # both metrics (a rerun may replace elements between two readings).
            deadline = time.monotonic() + 90
            while True:
                html = page.html()
                text = [t.strip() for t in re.sub(r"<[^>]+>", "\n", html).splitlines() if t.strip()]
                if {"Interactions", "Error rate"} <= set(text) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            screenshot = page.screenshot()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)

    assert "stException" not in html
    assert "Overview" in text, text[:80]
    # The metric's label, then its value: the four interactions of the exported run.
    assert {"Interactions", "Error rate"} <= set(text), text[:80]
    assert text[text.index("Interactions") + 1] == "4"
    assert text[text.index("Error rate") + 1] == "0.0%"
    assert screenshot[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(screenshot) > 20_000  # a rendered page, not a blank one
