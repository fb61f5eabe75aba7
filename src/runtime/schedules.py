"""The Temporal Schedules of the analytics: created when a worker starts, kept in step with it.

Idempotent: the first worker creates each schedule, later ones (and restarts) update it to the
current settings. Overlapping runs are skipped: an export still running when the next is due
is not doubled.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from switchboard.contract import EXPORT_SCHEDULE_ID, RETENTION_SCHEDULE_ID
from switchboard.settings import WorkerSettings
from workflows import ExportWorkflow, RetentionWorkflow

RETENTION_EVERY = timedelta(hours=1)


def _schedule(workflow: object, workflow_id: str, task_queue: str, every: timedelta) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            workflow,  # type: ignore[arg-type]
            id=workflow_id,
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure(client: Client, settings: WorkerSettings) -> None:
    wanted = {
        EXPORT_SCHEDULE_ID: _schedule(
            ExportWorkflow.run,
            "export",
            settings.analytics_task_queue(),
            timedelta(seconds=settings.export_interval_s),
        ),
        RETENTION_SCHEDULE_ID: _schedule(
            RetentionWorkflow.run, "retention", settings.analytics_task_queue(), RETENTION_EVERY
        ),
    }
    for schedule_id, schedule in wanted.items():
        try:
            await client.create_schedule(schedule_id, schedule)
        except ScheduleAlreadyRunningError:

            def replace(_: ScheduleUpdateInput, schedule: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=schedule)

            await client.get_schedule_handle(schedule_id).update(replace)
