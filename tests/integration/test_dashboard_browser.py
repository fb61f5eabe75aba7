"""The dashboards in a real browser: headless Chromium (Debian's) loads the running
`switchboard dashboards`, the Overview it renders shows the export's numbers, and it updates
itself, without a reload, when a new export is published."""

from __future__ import annotations

import re
import shutil
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from analytics import export
from analytics.privacy import Privacy
from switchboard import routing
from switchboard.contract import Identity, IdentityKind
from switchboard.store import Store
from tests.support.browser import Page, open_page
from tests.support.builders import sms_interaction
from tests.support.exported import KEY
from tests.support.processes import free_port, switchboard

pytestmark = pytest.mark.browser


def texts(page: Page) -> tuple[str, list[str]]:
    html = page.html()
    return html, [t.strip() for t in re.sub(r"<[^>]+>", "\n", html).splitlines() if t.strip()]


def shown(page: Page, label: str, value: str | None = None, timeout: float = 90) -> list[str]:
    """The page's text once it shows `label` (followed by `value`, if given)."""
    # Streamlit renders and reruns in steps: read the page until one reading holds the metric
    # (a rerun may replace elements between two readings).
    deadline = time.monotonic() + timeout
    while True:
        _, text = texts(page)
        if label in text and (value is None or text[text.index(label) + 1] == value):
            return text
        if time.monotonic() > deadline:
            return text
        time.sleep(0.5)


def test_the_overview_in_a_browser_shows_the_exported_numbers_and_updates_itself(
    exported: Path, tmp_path: Path
) -> None:
    # A copy of its own (the store and its export): the session's export is open in this
    # process (the pages' tests), and a DuckDB file another process holds is not one the
    # dashboards' process may attach.
    own = shutil.copytree(exported, tmp_path / "export", symlinks=True)
    store_copy = shutil.copy(exported.parent / "switchboard.db", tmp_path / "switchboard.db")
    port = free_port()
    env = {
        "SWITCHBOARD_EXPORT_DIR": str(own),
        "SWITCHBOARD_EXPORT_HASH_KEY": KEY,
        "SWITCHBOARD_DASHBOARD_PORT": str(port),
        # No store for the dashboards: what changes on the page comes from the new export.
        "SWITCHBOARD_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}",
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
            text = shown(page, "Error rate")
            html, _ = texts(page)
            screenshot = page.screenshot()
            assert "stException" not in html
            assert "Overview" in text, text[:80]
            # The metric's label, then its value: the four interactions of the exported run.
            assert {"Interactions", "Error rate"} <= set(text), text[:80]
            assert text[text.index("Interactions") + 1] == "4"
            assert text[text.index("Error rate") + 1] == "0.0%"
            assert any(
                re.fullmatch(r"Export published (\d+ s|\d+m \d+s) ago .*", t) for t in text
            ), text
            assert screenshot[:8] == b"\x89PNG\r\n\x1a\n"
            assert len(screenshot) > 20_000  # a rendered page, not a blank one

            # One more SMS, a new export published while the page is open: the page shows it
            # by itself (the marker set in this document survives: no reload).
            page.evaluate("window.stillTheSamePage = true")
            store = Store.from_url(f"sqlite:///{store_copy}")
            try:
                sender = "+14155550163"
                customer = store.resolve_customer(Identity(IdentityKind.PHONE, sender))
                store.persist_interaction(*sms_interaction(customer, sender, datetime.now(UTC)))
                staged = export.stage(
                    store.engine,
                    own,
                    Privacy(KEY.encode()),
                    routing.load().hours,
                    datetime.now(UTC),
                )
                export.publish(own, staged, [])
            finally:
                store.close()
            published = time.monotonic()
            text = shown(page, "Interactions", "5", timeout=60)
            assert text[text.index("Interactions") + 1] == "5", text[:80]
            assert time.monotonic() - published < 30  # refreshes every 5 s (+ the cache's 30)
            assert page.evaluate("window.stillTheSamePage") is True
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
