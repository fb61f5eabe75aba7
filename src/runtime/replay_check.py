"""`switchboard replay-check`: replay recent histories against this code before deploying it.

A workflow change that is not deterministic fails here instead of in production, where it
would block every running workflow of that type.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client
from temporalio.worker import Replayer

from runtime.worker import WORKFLOWS
from switchboard.converter import DATA_CONVERTER
from workflows import RUNNER


@dataclass(frozen=True)
class ReplayReport:
    replayed: int
    failures: list[tuple[str, str]]


async def replay_recent(client: Client, limit: int) -> ReplayReport:
    """Replay the `limit` most recent executions of each of our workflow types."""
    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=RUNNER, data_converter=DATA_CONVERTER)
    failures: list[tuple[str, str]] = []
    replayed = 0
    for workflow_class in WORKFLOWS:
        name = workflow_class.__name__
        executions = client.list_workflows(f"WorkflowType = '{name}'", limit=limit)
        histories = executions.map_histories()
        async with replayer.workflow_replay_iterator(histories) as results:
            async for result in results:
                replayed += 1
                if result.replay_failure is not None:
                    failures.append((result.history.workflow_id, str(result.replay_failure)))
    return ReplayReport(replayed=replayed, failures=failures)
