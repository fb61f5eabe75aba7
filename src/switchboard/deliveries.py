"""Starting delivery workflows: by the worker's relay for new events, by the API for retries."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import timedelta

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from switchboard.contract import DeliveryInput, delivery_workflow_id

DELIVERY_WORKFLOW = "DeliveryWorkflow"


async def start_deliveries(
    client: Client,
    delivery_ids: Sequence[str],
    task_queue: str,
    retry_schedule_s: Sequence[float],
) -> None:
    """Start one delivery workflow per id; one already running for an id is left running.

    A delivery finished before (a retry, a replay) starts again under the same workflow id,
    so Temporal UI shows every run of one delivery together.
    """

    async def start(delivery_id: str) -> None:
        # Already running: another relay (a second worker) or an earlier retry started it.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await client.start_workflow(
                DELIVERY_WORKFLOW,
                DeliveryInput(delivery_id, list(retry_schedule_s)),
                id=delivery_workflow_id(delivery_id),
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                rpc_timeout=timedelta(seconds=10),
            )

    await asyncio.gather(*(start(delivery_id) for delivery_id in delivery_ids))
