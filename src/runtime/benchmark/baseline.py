"""The bare-Temporal baseline: one workflow with one local activity, nothing else."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
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


async def max_rate(address: str, count: int, concurrency: int) -> dict[str, float]:
    """Bare workflows per second, `concurrency` in flight, on the server at `address`, and
    this process's CPU seconds (client and worker) for them. Printed as JSON as soon as
    measured, before the worker shuts down."""
    client = await Client.connect(address)
    slots = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with slots:
            await run_baseline(client, f"bench-baseline-{uuid.uuid4().hex}")

    async with baseline_worker(client):
        await asyncio.gather(*(one(i) for i in range(min(count, 50))))  # warm up
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(i) for i in range(count)))
        per_s = count / (time.perf_counter() - started)
        figures = {"per_s": per_s, "cpu_s": time.process_time() - cpu}
        print(json.dumps(figures), flush=True)
        return figures


if __name__ == "__main__":
    # `switchboard bench` runs the baseline here, in a process of its own, as a client would.
    parser = argparse.ArgumentParser()
    parser.add_argument("address")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    asyncio.run(max_rate(args.address, args.count, args.concurrency))
