"""ExportWorkflow: the store to Parquet and marts, behind a quality gate.

Runs on a Temporal Schedule created by the worker; each run is visible in Temporal UI, a
refused batch as a failed `validate_export` activity with the expectations it broke.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from switchboard.contract import (
        PUBLISH_EXPORT,
        STAGE_EXPORT,
        VALIDATE_EXPORT,
        ExportBatch,
        ExportInput,
        ExportSummary,
        PublishInput,
    )

from workflows.policies import ANALYTICS_RETRY, ANALYTICS_TIMEOUT


@workflow.defn
class ExportWorkflow:
    @workflow.run
    async def run(self, inp: ExportInput | None = None) -> ExportSummary:
        # The scheduled runs have no input and stage as they always did (same command, same
        # arguments: their histories replay); `switchboard export --full` passes one.
        batch = await workflow.execute_activity(
            STAGE_EXPORT,
            args=[] if inp is None else [inp],
            result_type=ExportBatch,
            start_to_close_timeout=ANALYTICS_TIMEOUT,
            retry_policy=ANALYTICS_RETRY,
        )
        if not batch.changed:
            return ExportSummary(published=False, snapshot=None)
        validation = await workflow.execute_activity(
            VALIDATE_EXPORT,
            batch,
            result_type=list,
            start_to_close_timeout=ANALYTICS_TIMEOUT,
            retry_policy=ANALYTICS_RETRY,
        )
        snapshot = await workflow.execute_activity(
            PUBLISH_EXPORT,
            PublishInput(batch, validation),
            result_type=str,
            start_to_close_timeout=ANALYTICS_TIMEOUT,
            retry_policy=ANALYTICS_RETRY,
        )
        return ExportSummary(published=True, snapshot=snapshot, rows=batch.rows)
