"""The dashboards in a real browser: headless Chromium (Debian's) loads the running
`switchboard dashboards`, and the Overview it renders shows the export's numbers."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.exported import KEY
from tests.support.processes import free_port, switchboard

pytestmark = pytest.mark.browser


def chromium() -> str:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium is not installed: `make test` installs it with apt")
    return binary


def browse(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    # --virtual-time-budget lets the page's scripts (Streamlit's websocket) finish first.
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",  # we run as root in CI
            "--disable-gpu",
            "--window-size=1400,1000",
            "--virtual-time-budget=15000",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_the_overview_in_a_browser_shows_the_exported_numbers(
    exported: Path, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        "SWITCHBOARD_EXPORT_DIR": str(exported),
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
        # The first visit may end before the app has rendered (a cold server): look again.
        for _ in range(5):
            page = browse(url, "--dump-dom")
            if "Interactions" in page.stdout:
                break
        screenshot = tmp_path / "overview.png"
        shot = browse(url, f"--screenshot={screenshot}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)

    assert page.returncode == 0, page.stderr[-2000:]
    text = [t.strip() for t in re.sub(r"<[^>]+>", "\n", page.stdout).splitlines() if t.strip()]
    assert "stException" not in page.stdout
    assert "Overview" in text, text[:80]
    # The metric's label, then its value: the four interactions of the exported pipeline run.
    assert text[text.index("Interactions") + 1] == "4"
    assert text[text.index("Error rate") + 1] == "0.0%"
    assert shot.returncode == 0 and screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000  # a rendered page, not a blank one
