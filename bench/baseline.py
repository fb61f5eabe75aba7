"""The bare-Temporal baseline: one workflow with one local activity, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker


@activity.defn
def noop(value: str) -> str:
    return value


@workflow.defn
class BaselineWorkflow:
    @workflow.run
    async def run(self, value: str) -> str:
        return await workflow.execute_local_activity(
            noop, value, start_to_close_timeout=timedelta(seconds=10)
        )


TASK_QUEUE = "bench-baseline"


@asynccontextmanager
async def baseline_worker(client: Client) -> AsyncIterator[None]:
    """A worker for the baseline workflow, on its own task queue."""
    with ThreadPoolExecutor(8) as executor:
        async with Worker(
            client,
            task_queue=TASK_QUEUE,
            workflows=[BaselineWorkflow],
            activities=[noop],
            activity_executor=executor,
        ):
            yield


async def run_baseline(client: Client, workflow_id: str) -> None:
    await client.execute_workflow(BaselineWorkflow.run, "x", id=workflow_id, task_queue=TASK_QUEUE)
