"""A real export of a real pipeline run, for the dashboards' tests (AppTest and the browser)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client

from analytics import export
from analytics.privacy import Privacy
from switchboard import routing
from switchboard.store import Store
from tests.support.pipeline import run_sms

KEY = "dashboard-test-key"
ANA, BEN = "+14155550161", "+14155550162"


async def export_a_pipeline_run(client: Client, tmp: Path) -> Path:
    """Three SMS from Ana and one from Ben through the pipeline, then one export; its root."""
    store = Store.from_url(f"sqlite:///{tmp / 'switchboard.db'}")
    store.migrate()
    task_queue = f"tq-dashboards-{tmp.name}"
    messages = [(ANA, "hi"), (ANA, "my invoice"), (BEN, "hello"), (ANA, "ok")]
    await run_sms(client, store, task_queue, messages)
    root = tmp / "exports"
    staged = export.stage(
        store.engine, root, Privacy(KEY.encode()), routing.load().hours, datetime.now(UTC)
    )
    export.publish(root, staged, [])
    store.close()
    return root
