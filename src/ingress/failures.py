"""The failed-event console's retries: re-run a failed or orphaned interaction workflow from
its archived raw event. The API and `switchboard failures` share it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from ingress.starter import start_interaction_workflow
from switchboard.contract import Channel, InteractionInput, Provider, RawEvent
from switchboard.errors import MalformedPayload
from switchboard.failures import PREFIX, STUCK, Failure, Failures, Filter, is_orphaned
from switchboard.providers import PARSERS
from switchboard.store import Store

__all__ = ["Console", "Failure", "Filter", "RetryCounts"]


@dataclass
class RetryCounts:
    matched: int = 0
    started: int = 0
    already_succeeded: int = 0
    running: int = 0
    not_archived: int = 0
    by_outcome: Counter[str] = field(default_factory=Counter)


class Console(Failures):
    """Failures listed, and retried through the one function that starts InteractionWorkflow."""

    def __init__(
        self,
        client: Client,
        store: Store,
        task_queue: str,
        temporal_ui_url: str,
        stuck_after: timedelta,
        orphan_wait_s: float,
    ) -> None:
        super().__init__(client, store, temporal_ui_url, stuck_after)
        self.task_queue = task_queue
        self.orphan_wait_s = orphan_wait_s

    async def retry(self, workflow_id: str) -> str:
        """Re-run one workflow from its archived raw event, under the same workflow id (so a
        concurrent redelivery still meets it, and the store's key still dedupes); return
        `started`, `running`, `already_succeeded` or `not_archived`.
        """
        handle = self.client.get_workflow_handle(workflow_id)
        try:
            description = await handle.describe()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            description = None
        if description is not None:
            if description.status == WorkflowExecutionStatus.RUNNING:
                return "running"
            completed = description.status == WorkflowExecutionStatus.COMPLETED
            if completed and not is_orphaned(description):
                return "already_succeeded"
        provider, _, key = workflow_id.removeprefix(PREFIX).partition(":")
        archived = None
        if workflow_id.startswith(PREFIX):
            archived = self.store.find_raw_event(provider, key)
        if archived is None:
            return "not_archived"
        raw = archived[0]
        await start_interaction_workflow(
            self.client,
            InteractionInput(raw, orphan_wait_s=self.orphan_wait_s),
            workflow_id=workflow_id,
            task_queue=self.task_queue,
            channel=_channel(raw),
        )
        return "started"

    async def retry_matching(self, only: Filter) -> RetryCounts:
        counts = RetryCounts()
        for failure in await self.list(only):
            if failure.state == STUCK:
                continue  # still running: Temporal is retrying it already
            counts.matched += 1
            outcome = await self.retry(failure.workflow_id)
            counts.by_outcome[outcome] += 1
            setattr(counts, outcome, getattr(counts, outcome) + 1)
        return counts


def _channel(raw: RawEvent) -> Channel | None:
    parser = PARSERS.get((Provider(raw.provider), raw.kind))
    try:
        return parser(raw.fields, raw.received_at).interaction.channel if parser else None
    except MalformedPayload:
        return None
