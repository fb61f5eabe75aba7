"""A worker killed in the middle of a workflow: its replacement finishes it, exactly once."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

import httpx
from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from switchboard.contract import interaction_workflow_id
from switchboard.store import Store
from switchboard.store.tables import interactions
from tests.support.builders import sms_input
from tests.support.processes import free_port, switchboard
from workflows import InteractionWorkflow


async def _scrape(url: str) -> str:
    async with httpx.AsyncClient() as http:
        for _ in range(50):
            response = await http.get(url)
            if "switchboard_receipt_to_persisted_seconds" in response.text:
                break
            await asyncio.sleep(0.1)  # metrics are exported as they are flushed
        return response.text


async def wait_for_failed_attempts(metrics_url: str, attempts: int) -> None:
    """Until the worker's store steps (local activities) have failed `attempts` times."""
    async with httpx.AsyncClient() as http:
        for _ in range(600):
            try:
                text = (await http.get(metrics_url)).text
            except httpx.HTTPError:
                text = ""  # the endpoint is not up yet
            failed = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("temporal_local_activity_execution_failed")
            )
            if failed >= attempts:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("the store step never failed and retried")


async def test_worker_sigkilled_mid_workflow_completes_exactly_once(
    temporal_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    client = temporal_env.client
    db = tmp_path / "switchboard.db"
    store = Store.from_url(f"sqlite:///{db}")
    store.migrate()
    env = {
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "SWITCHBOARD_DATABASE_URL": f"sqlite:///{db}",
        "SWITCHBOARD_TASK_QUEUE": task_queue,
        "SWITCHBOARD_SQLITE_BUSY_TIMEOUT_S": "0.3",
    }
    first_metrics = free_port()
    # Another process holds the store's write lock: the worker's store step keeps failing and
    # retrying, so the workflow is caught mid-way.
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")

    first = switchboard(
        ["worker"],
        {**env, "SWITCHBOARD_WORKER_METRICS_PORT": str(first_metrics)},
        tmp_path,
        tmp_path / "first-worker.log",
    )
    inp = sms_input()
    workflow_id = interaction_workflow_id("twilio", inp.raw.event_key)
    handle = await client.start_workflow(
        InteractionWorkflow.run, inp, id=workflow_id, task_queue=task_queue
    )
    try:
        await wait_for_failed_attempts(f"http://127.0.0.1:{first_metrics}/metrics", attempts=2)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        locker.execute("ROLLBACK")
        locker.close()

    metrics_port = free_port()
    second = switchboard(
        ["worker"],
        {**env, "SWITCHBOARD_WORKER_METRICS_PORT": str(metrics_port)},
        tmp_path,
        tmp_path / "second-worker.log",
    )
    try:
        result = await asyncio.wait_for(handle.result(), timeout=60)
        scraped = await _scrape(f"http://127.0.0.1:{metrics_port}/metrics")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)

    assert second.returncode == 0, "the worker stops cleanly on SIGTERM"
    # The worker's Prometheus endpoint: the SDK's metrics and the pipeline's own.
    assert "temporal_workflow_task_execution_latency" in scraped
    assert "switchboard_receipt_to_persisted_seconds" in scraped
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(interactions)).scalar_one() == 1
    assert store.get_interaction(result.interaction_id) is not None
    completed = [
        event
        async for event in handle.fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    ]
    assert len(completed) == 1
    store.close()
