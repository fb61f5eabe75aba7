"""RetentionWorkflow: raw payloads emptied, and old rows deleted, once past their retention.

Runs hourly on a Temporal Schedule created by the worker; each run is visible in Temporal UI
with what it purged.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from switchboard.contract import PURGE_EXPIRED, PurgeResult

from workflows.policies import ANALYTICS_RETRY, ANALYTICS_TIMEOUT


@workflow.defn
class RetentionWorkflow:
    @workflow.run
    async def run(self) -> PurgeResult:
        result: PurgeResult = await workflow.execute_activity(
            PURGE_EXPIRED,
            result_type=PurgeResult,
            start_to_close_timeout=ANALYTICS_TIMEOUT,
            retry_policy=ANALYTICS_RETRY,
        )
        return result
