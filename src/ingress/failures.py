"""The failed-event console: interaction workflows that failed, were orphaned or are stuck, and
their retry from the archived raw event. The API and `switchboard failures` share it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from ingress.starter import start_interaction_workflow
from switchboard import search_attributes as sa
from switchboard.contract import ORPHANED, Channel, InteractionInput, Provider, RawEvent
from switchboard.errors import MalformedPayload
from switchboard.providers import PARSERS
from switchboard.store import Store

PREFIX = "interaction:"
FAILED, STUCK = "failed", "stuck"


@dataclass(frozen=True)
class Failure:
    """One interaction workflow an operator may want to retry (no personal data)."""

    workflow_id: str
    provider: str
    kind: str
    state: str  # failed | orphaned | stuck
    reason: str
    attempts: int
    first_seen: datetime
    temporal_url: str


@dataclass(frozen=True)
class Filter:
    provider: str | None = None
    kind: str | None = None
    reason: str | None = None  # a substring of the reason
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, failure: Failure) -> bool:
        return (
            (self.provider is None or failure.provider == self.provider)
            and (self.kind is None or failure.kind == self.kind)
            and (self.reason is None or self.reason.lower() in failure.reason.lower())
            and (self.since is None or failure.first_seen >= self.since)
            and (self.until is None or failure.first_seen < self.until)
        )


@dataclass
class RetryCounts:
    matched: int = 0
    started: int = 0
    already_succeeded: int = 0
    running: int = 0
    not_archived: int = 0
    by_outcome: Counter[str] = field(default_factory=Counter)


class Console:
    """Failures as Temporal and the store know them; retries through the one starter."""

    def __init__(
        self,
        client: Client,
        store: Store,
        task_queue: str,
        temporal_ui_url: str,
        stuck_after: timedelta,
        orphan_wait_s: float,
    ) -> None:
        self.client = client
        self.store = store
        self.task_queue = task_queue
        self.temporal_ui_url = temporal_ui_url.rstrip("/")
        self.stuck_after = stuck_after
        self.orphan_wait_s = orphan_wait_s

    async def list(self, only: Filter | None = None, limit: int = 500) -> list[Failure]:
        """Failed, orphaned and stuck interaction workflows (their latest run), newest first."""
        stuck_before = (datetime.now(UTC) - self.stuck_after).strftime("%Y-%m-%dT%H:%M:%SZ")
        query = (
            "WorkflowType = 'InteractionWorkflow' AND (ExecutionStatus = 'Failed' OR "
            f"{sa.INTERACTION_STATUS.name} = '{ORPHANED}' OR "
            f"(ExecutionStatus = 'Running' AND StartTime < '{stuck_before}'))"
        )
        runs: Counter[str] = Counter()
        async for execution in self.client.list_workflows(query, limit=limit):
            # Reprocessing runs have their own ids: their batch reports them.
            if execution.id.startswith(PREFIX):
                runs[execution.id] += 1
        found = []
        for workflow_id, attempts in runs.items():
            # The newest run decides: a failure retried since then may have succeeded.
            latest = await self.client.get_workflow_handle(workflow_id).describe()
            failure = self._failure(latest, attempts)
            if failure is not None and (only is None or only.matches(failure)):
                found.append(failure)
        return sorted(found, key=lambda f: f.first_seen, reverse=True)

    def _failure(self, execution: WorkflowExecution, attempts: int) -> Failure | None:
        provider, _, key = execution.id.removeprefix(PREFIX).partition(":")
        if _orphaned(execution):
            state = str(ORPHANED)
        elif execution.status == WorkflowExecutionStatus.FAILED:
            state = FAILED
        elif (
            execution.status == WorkflowExecutionStatus.RUNNING
            and datetime.now(UTC) - execution.start_time > self.stuck_after
        ):
            state = STUCK
        else:
            return None
        archived = self.store.find_raw_event(provider, key)
        raw, error = archived if archived else (None, None)
        if state == STUCK:
            running_for = datetime.now(UTC) - execution.start_time
            reason = f"still retrying after {running_for.total_seconds() / 60:.0f} min"
        else:
            reason = error or "failed (see Temporal UI)"
        return Failure(
            workflow_id=execution.id,
            provider=provider,
            kind=raw.kind if raw else "",
            state=state,
            reason=reason,
            attempts=attempts,
            first_seen=raw.received_at if raw else execution.start_time,
            temporal_url=self.url(execution.id),
        )

    def url(self, workflow_id: str) -> str:
        namespace = quote(self.client.namespace, safe="")
        workflow = quote(workflow_id, safe="")
        return f"{self.temporal_ui_url}/namespaces/{namespace}/workflows/{workflow}"

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
            if completed and not _orphaned(description):
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


def _orphaned(execution: WorkflowExecution) -> bool:
    status = execution.typed_search_attributes.get(sa.INTERACTION_STATUS)
    return status == ORPHANED


def _channel(raw: RawEvent) -> Channel | None:
    parser = PARSERS.get((Provider(raw.provider), raw.kind))
    try:
        return parser(raw.fields, raw.received_at).interaction.channel if parser else None
    except MalformedPayload:
        return None
