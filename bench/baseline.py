"""The bare-Temporal baseline: one workflow with one local activity, nothing else."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


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
