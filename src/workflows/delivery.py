"""DeliveryWorkflow: one event to one subscriber, attempted on a schedule until it lands.

Kept registered, unchanged, for executions started before deliveries moved to the store's
schedule (`events_out.deliverer`, which sends every new delivery); nothing starts new ones, and it
can go once no execution of the type runs any more. Its recorded histories keep replaying.

Attempts follow the schedule in the input (the waits between attempts; the first is
immediate), waiting longer when the receiver asks to with Retry-After. The attempt activity
records each attempt in the delivery log and decides what the answer means: delivered, worth
retrying (network error, timeout, 429, 5xx), or final (another 4xx; 410 disables the
subscription). A delivery still failing after the last attempt is dead-lettered by that
attempt.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.policies import DELIVERY_ATTEMPT_TIMEOUT, STORE_RETRY

with workflow.unsafe.imports_passed_through():
    from switchboard.contract import (
        ATTEMPT_DELIVERY,
        AttemptInput,
        AttemptOutcome,
        AttemptResult,
        DeliveryInput,
        DeliveryResult,
        DeliveryStatus,
    )

# Nobody asks us to wait longer than this between two attempts.
MAX_RETRY_AFTER_S = 24 * 3600.0


@workflow.defn(sandboxed=False)
class DeliveryWorkflow:
    @workflow.run
    async def run(self, inp: DeliveryInput) -> DeliveryResult:
        waits = list(inp.retry_schedule_s)
        attempt, wait = 0, 0.0
        while True:
            if wait > 0:
                await workflow.sleep(timedelta(seconds=wait))
            attempt += 1
            next_wait = waits[attempt - 1] if attempt <= len(waits) else None
            result = await workflow.execute_activity(
                ATTEMPT_DELIVERY,
                AttemptInput(inp.delivery_id, attempt, next_wait),
                result_type=AttemptResult,
                start_to_close_timeout=DELIVERY_ATTEMPT_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            if result.outcome is AttemptOutcome.DELIVERED:
                return DeliveryResult(DeliveryStatus.DELIVERED, attempt)
            if result.outcome is AttemptOutcome.FAILED:
                return DeliveryResult(DeliveryStatus.FAILED, attempt)
            if next_wait is None:
                return DeliveryResult(DeliveryStatus.DEAD, attempt)
            wait = max(next_wait, min(result.retry_after_s or 0.0, MAX_RETRY_AFTER_S))
