"""`switchboard replay-check`: replay histories against this code before deploying it.

A workflow change that is not deterministic fails here instead of in production, where it
would block every running workflow of that type. The histories are the server's most recent
executions, or histories recorded as JSON files (`tests/workflows/histories`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from runtime.worker import ALL_WORKFLOWS
from workflows import RUNNER


@dataclass(frozen=True)
class ReplayReport:
    replayed: int
    failures: list[tuple[str, str]]


def _replayer(converter: DataConverter) -> Replayer:
    return Replayer(workflows=ALL_WORKFLOWS, workflow_runner=RUNNER, data_converter=converter)


async def _replay(replayer: Replayer, histories: AsyncIterator[WorkflowHistory]) -> ReplayReport:
    failures: list[tuple[str, str]] = []
    replayed = 0
    async with replayer.workflow_replay_iterator(histories) as results:
        async for result in results:
            replayed += 1
            if result.replay_failure is not None:
                failures.append((result.history.workflow_id, str(result.replay_failure)))
    return ReplayReport(replayed=replayed, failures=failures)


async def replay_recent(client: Client, limit: int) -> ReplayReport:
    """Replay the `limit` most recent executions of each of our workflow types."""
    # The client's converter: it holds this process's keys, which the histories need.
    replayer = _replayer(client.data_converter)
    replayed, failures = 0, []
    for workflow_class in ALL_WORKFLOWS:
        name = workflow_class.__name__
        executions = client.list_workflows(f"WorkflowType = '{name}'", limit=limit)
        report = await _replay(replayer, executions.map_histories())
        replayed += report.replayed
        failures += report.failures
    return ReplayReport(replayed=replayed, failures=failures)


async def replay_recorded(directory: Path, converter: DataConverter) -> ReplayReport:
    """Replay every history recorded in `directory` (`*.json`, named by the file)."""

    async def histories() -> AsyncIterator[WorkflowHistory]:
        for path in sorted(directory.glob("*.json")):
            yield WorkflowHistory.from_json(path.stem, path.read_text())

    return await _replay(_replayer(converter), histories())
