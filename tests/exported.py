"""A real export of a real pipeline run, for the dashboards' tests (AppTest and the browser)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from analytics import export
from analytics.privacy import Privacy
from runtime.worker import build_worker
from switchboard import routing
from switchboard.contract import interaction_workflow_id
from switchboard.store import Store
from tests.conftest import timeless_rules
from tests.helpers import sms_input
from workflows import InteractionWorkflow

KEY = "dashboard-test-key"
ANA, BEN = "+14155550161", "+14155550162"


@pytest.fixture(scope="session")
async def exported(
    temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Three SMS from Ana and one from Ben through the pipeline, then one export."""
    client: Client = temporal_env.client
    tmp = tmp_path_factory.mktemp("dashboards")
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


async def run_sms(
    client: Client, store: Store, task_queue: str, messages: list[tuple[str, str]]
) -> None:
    """(sender, text) SMS through the real pipeline, one by one, on a worker of their own."""
    with ThreadPoolExecutor(max_workers=8) as executor:
        async with build_worker(client, store, task_queue, executor, 8, rules=timeless_rules()):
            for sender, text in messages:
                inp = sms_input(sender=sender, body=text)
                await client.execute_workflow(
                    InteractionWorkflow.run,
                    inp,
                    id=interaction_workflow_id("twilio", inp.raw.event_key),
                    task_queue=task_queue,
                )
