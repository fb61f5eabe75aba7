"""Headless Chromium (Debian's) driven over the DevTools protocol, waiting in real time.

`--dump-dom` with a virtual time budget gives up as soon as the page is idle in virtual
time, which for Streamlit can be before the server has run the page's script: a page is only
rendered once its websocket has brought the elements, so the tests poll the live page instead.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import websockets

FLAGS = [
    "--headless",
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
]


def chromium() -> str:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium is not installed: `make test` installs it with apt")
    return binary


@dataclass
class Page:
    """One tab: its text, and a screenshot, read over the DevTools websocket."""

    debugger_url: str

    async def _call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        async with websockets.connect(self.debugger_url, max_size=None) as ws:
            await ws.send(json.dumps({"id": 1, "method": method, "params": params or {}}))
            while True:
                message = json.loads(await ws.recv())
                if message.get("id") == 1:
                    result: dict[str, Any] = message["result"]
                    return result

    def text(self) -> str:
        found = asyncio.run(
            self._call(
                "Runtime.evaluate",
                {"expression": "document.body ? document.body.innerText : ''"},
            )
        )
        return str(found["result"].get("value", ""))

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        found = asyncio.run(
            self._call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        )
        return found["result"].get("value")

    def html(self) -> str:
        found = asyncio.run(
            self._call("Runtime.evaluate", {"expression": "document.documentElement.outerHTML"})
        )
        return str(found["result"].get("value", ""))

    def navigate(self, url: str) -> None:
        """Load `url` in this tab (a new document: what a click on a link does)."""
        asyncio.run(self._call("Page.navigate", {"url": url}))

    def metrics(self) -> list[tuple[str, str]]:
        """Every `st.metric` on the page: (label, value as shown)."""
        found = self.evaluate(
            """Array.from(document.querySelectorAll('[data-testid="stMetric"]')).map(m => [
                (m.querySelector('[data-testid="stMetricLabel"]') || {}).innerText || '',
                (m.querySelector('[data-testid="stMetricValue"]') || {}).innerText || ''])"""
        )
        return [(str(label).strip(), str(value).strip()) for label, value in found or []]

    def tables(self) -> list[list[list[str]]]:
        """The cells of every `st.dataframe` on the page, header row first (from the grid's
        accessible table, which holds the rows in view)."""
        found = self.evaluate(
            """Array.from(document.querySelectorAll('[data-testid="stDataFrame"]')).map(d => {
                d.scrollIntoView();
                return Array.from(d.querySelectorAll('table tr')).map(
                    r => Array.from(r.querySelectorAll('th, td')).map(c => c.innerText));
            })"""
        )
        return [[[str(c).strip() for c in row] for row in table] for table in found or []]

    def click(self, selector: str) -> bool:
        """Click the first element `selector` finds; False if there is none."""
        return bool(
            self.evaluate(
                f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                " if (e) e.click(); return !!e; })()"
            )
        )

    def screenshot(self) -> bytes:
        shot = asyncio.run(self._call("Page.captureScreenshot", {"format": "png"}))
        return base64.b64decode(shot["data"])


@contextmanager
def open_page(url: str) -> Iterator[Page]:
    """A headless Chromium of its own (empty profile) with `url` open in one tab."""
    # Chromium's helper processes may still write to the profile as it closes.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            endpoint = _devtools_endpoint(process)
            deadline = time.monotonic() + 30
            while True:
                tabs = httpx.get(f"{endpoint}/json/list", timeout=5).json()
                pages = [t for t in tabs if t.get("type") == "page"]
                if pages:
                    break
                assert time.monotonic() < deadline, "Chromium opened no page"
                time.sleep(0.2)
            yield Page(pages[0]["webSocketDebuggerUrl"])
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _devtools_endpoint(process: subprocess.Popen[str]) -> str:
    """Chromium says where its DevTools listen on its first lines of standard error."""
    assert process.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        found = re.search(r"DevTools listening on ws://([^/]+)/", line)
        if found:
            return f"http://{found.group(1)}"
        if not line and process.poll() is not None:
            break
    pytest.fail("Chromium did not start its DevTools endpoint")
