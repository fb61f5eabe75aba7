"""CPU per sandboxed workflow run: what the sandbox's re-import of `workflows` costs.

Interaction and conversation workflows are not sandboxed; the export and retention workflows
are, and each of their runs re-imports their module, and so the `workflows` package, in a
fresh sandbox. One process runs a worker with RetentionWorkflow alone (its purge a no-op) and
runs `--count` of them one after another against a dev server of its own; the figure is this
process's CPU per run. Compare package versions with PYTHONPATH=<their src>.

Usage:  .venv/bin/python -m bench.sandboxed_run [--count 200]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.sms_latency import write
from runtime.temporal_server import temporal_binary
from switchboard.contract import PURGE_EXPIRED, PurgeResult
from switchboard.converter import data_converter
from workflows import RUNNER, RetentionWorkflow


@activity.defn(name=PURGE_EXPIRED)
def purge() -> PurgeResult:
    return PurgeResult(payloads_purged=0, rows_deleted=0)


async def main(count: int) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), data_converter=data_converter(None)
    )
    with ThreadPoolExecutor(2) as executor:
        async with Worker(
            env.client,
            task_queue="sandboxed",
            workflows=[RetentionWorkflow],
            activities=[purge],
            activity_executor=executor,
            workflow_runner=RUNNER,
        ):

            async def run(workflow_id: str) -> None:
                await env.client.execute_workflow(
                    RetentionWorkflow.run, id=workflow_id, task_queue="sandboxed"
                )

            for i in range(10):  # warm-up
                await run(f"warm-up-{i}")
            wall, cpu = time.perf_counter(), time.process_time()
            for i in range(count):
                await run(f"run-{i}")
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await env.shutdown()
    write(
        "sandboxed_run",
        {
            "runs": count,
            "cpu_ms_per_run": round(cpu / count * 1000, 1),
            "wall_ms_per_run": round(wall / count * 1000, 1),
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="CPU per sandboxed workflow run")
    parser.add_argument("--count", type=int, default=200)
    asyncio.run(main(parser.parse_args().count))
