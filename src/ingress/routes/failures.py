"""The failed-event console over HTTP: list failed, orphaned and stuck interaction workflows,
and retry them from their archived raw events (the same as `switchboard failures`)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel

from ingress import pagination, problems
from ingress.auth.require import require
from ingress.deps import SettingsDep, StoreDep, TemporalDep
from ingress.failures import Console, Failure, Filter
from ingress.idempotency import Idempotent
from ingress.pagination import Cursor, Limit, Page
from ingress.params import Timestamp
from switchboard.permissions import Permission

router = APIRouter(
    prefix="/api/failures",
    tags=["failures"],
    responses=problems.responses(*problems.AUTHENTICATED, 503),
)


def get_console(settings: SettingsDep, store: StoreDep, temporal: TemporalDep) -> Console:
    return Console(
        temporal,
        store,
        settings.task_queue,
        settings.temporal_ui_url,
        timedelta(seconds=settings.failures_stuck_after_s),
        settings.orphan_callback_wait_s,
    )


ConsoleDep = Annotated[Console, Depends(get_console)]


class FailureOut(BaseModel):
    workflow_id: str
    provider: str
    kind: str
    state: str
    reason: str
    attempts: int
    first_seen: datetime
    temporal_url: str


class FailureList(Page[FailureOut]):
    retry_command: str


class RetryOut(BaseModel):
    workflow_id: str
    outcome: str


class RetryFilter(BaseModel):
    provider: str | None = None
    kind: str | None = None
    reason: str | None = None
    since: Timestamp | None = None
    until: Timestamp | None = None


class RetryCountsOut(BaseModel):
    matched: int
    started: int
    already_succeeded: int
    running: int
    not_archived: int


def _out(failure: Failure) -> FailureOut:
    return FailureOut(**asdict(failure))


@router.get(
    "",
    dependencies=[Depends(require(Permission.FAILURES_READ))],
    summary="Failed, orphaned and stuck interactions",
)
async def list_failures(
    console: ConsoleDep,
    provider: Annotated[str | None, Query()] = None,
    kind: Annotated[str | None, Query()] = None,
    reason: Annotated[str | None, Query(description="a part of the reason")] = None,
    since: Annotated[Timestamp | None, Query()] = None,
    until: Annotated[Timestamp | None, Query()] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> FailureList:
    """Newest first (by when each was first seen)."""
    found = await console.list(Filter(provider, kind, reason, since, until))
    after = pagination.position(cursor)
    ordered = sorted(found, key=lambda f: (f.first_seen, f.workflow_id), reverse=True)
    rows = [f for f in ordered if after is None or (f.first_seen, f.workflow_id) < after]
    return FailureList(
        **pagination.page([_out(f) for f in rows], limit, lambda f: (f.first_seen, f.workflow_id)),
        retry_command="switchboard failures retry --help",
    )


@router.post(
    "/retry",
    dependencies=[Depends(require(Permission.FAILURES_RETRY)), Idempotent],
    summary="Retry every failure matching a filter",
)
async def retry_matching(console: ConsoleDep, body: RetryFilter) -> RetryCountsOut:
    counts = await console.retry_matching(
        Filter(body.provider, body.kind, body.reason, body.since, body.until)
    )
    return RetryCountsOut(
        matched=counts.matched,
        started=counts.started,
        already_succeeded=counts.already_succeeded,
        running=counts.running,
        not_archived=counts.not_archived,
    )


@router.post(
    "/{workflow_id:path}/retry",
    dependencies=[Depends(require(Permission.FAILURES_RETRY)), Idempotent],
    summary="Retry one failed or orphaned interaction from its archived raw event",
    responses={
        202: {"model": RetryOut, "description": "started again (or already running)"},
        404: {"model": RetryOut, "description": "no archived raw event (`not_archived`)"},
    },
)
async def retry_one(workflow_id: str, console: ConsoleDep, response: Response) -> RetryOut:
    outcome = await console.retry(workflow_id)
    if outcome == "not_archived":
        response.status_code = status.HTTP_404_NOT_FOUND
    elif outcome in ("started", "running"):
        response.status_code = status.HTTP_202_ACCEPTED
    return RetryOut(workflow_id=workflow_id, outcome=outcome)
