"""Erasing one customer everywhere Switchboard keeps them: Temporal's histories and the store.

Their workflows are found by the `CustomerId` search attribute and deleted (a running one is
terminated by the deletion) before the store is erased, so a conversation still running cannot
write back what was just removed. Exports follow at the next export (`export_rewrites`).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from switchboard.store.erasure import Erasure, ErasureCounts


async def erase_customer(
    client: Client, erasure: Erasure, customer_id: str
) -> ErasureCounts | None:
    """Erase the customer; None when neither the store nor Temporal knows them."""
    try:
        uuid.UUID(customer_id)  # customer ids are uuids; anything else is in no query
    except ValueError:
        return None
    # The histories of customers merged into this one carry their own ids.
    merged = await asyncio.to_thread(erasure.merged_into, customer_id)
    deleted = 0
    for each in [customer_id, *merged]:
        deleted += await delete_workflows(client, each)
    counts = await asyncio.to_thread(erasure.erase, customer_id)
    if counts is None:
        return ErasureCounts(workflows=deleted) if deleted else None
    return replace(counts, workflows=deleted)


async def delete_workflows(client: Client, customer_id: str) -> int:
    """Delete every execution (running or closed) indexed with the customer's id."""
    executions = [
        (wf.id, wf.run_id) async for wf in client.list_workflows(f"CustomerId = '{customer_id}'")
    ]
    for workflow_id, run_id in executions:
        try:
            await client.workflow_service.delete_workflow_execution(
                DeleteWorkflowExecutionRequest(
                    namespace=client.namespace,
                    workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
                )
            )
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:  # deleted meanwhile: what we wanted
                raise
    return len(executions)
