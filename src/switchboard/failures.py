"""Failed, orphaned and stuck interaction workflows, as Temporal and the store know them.

Read by the failures console (API and CLI, which also retry them) and the Failures dashboard.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus

from switchboard import search_attributes as sa
from switchboard.contract import ORPHANED
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


class Failures:
    """Lists failures; `stuck_after` is how long a running workflow may retry before it counts."""

    def __init__(
        self, client: Client, store: Store, temporal_ui_url: str, stuck_after: timedelta
    ) -> None:
        self.client = client
        self.store = store
        self.temporal_ui_url = temporal_ui_url.rstrip("/")
        self.stuck_after = stuck_after

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
        if is_orphaned(execution):
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


def is_orphaned(execution: WorkflowExecution) -> bool:
    status = execution.typed_search_attributes.get(sa.INTERACTION_STATUS)
    return status == ORPHANED
