"""Recorded histories must replay against the current workflow code (determinism guard).

The ledger (`workflows.patches`) owns the histories: each entry names those of the path it
opened, and a history no entry names, or an entry's history that is missing, fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.support.keys import DATA_CONVERTER
from workflows import (
    RUNNER,
    ConversationWorkflow,
    DeliveryWorkflow,
    ExportWorkflow,
    InteractionWorkflow,
    RetentionWorkflow,
    patches,
)

DIRECTORY = Path(__file__).with_name("histories")
HISTORIES = sorted(DIRECTORY.glob("*.json"))
OWNED = {name for patch in patches.LEDGER for name in patch.histories} | set(
    patches.UNPATCHED_HISTORIES
)


def test_the_ledger_owns_every_recorded_history() -> None:
    recorded = {path.stem for path in HISTORIES}
    assert OWNED - recorded == set(), "histories the ledger names are missing"
    assert recorded - OWNED == set(), "histories no ledger entry names (delete them with it)"


def test_each_workflows_current_path_has_a_history() -> None:
    # The path new runs take is the newest `patched` entry of each workflow.
    current: dict[str, patches.Patch] = {}
    for patch in patches.LEDGER:
        if patch.step == "patched":
            current[patch.workflow] = patch
    for workflow, patch in current.items():
        assert patch.histories, f"{workflow}: {patch.id} names no recorded history"


@pytest.mark.parametrize("path", HISTORIES, ids=lambda path: path.stem)
async def test_history_replays_with_current_code(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(
        workflows=[
            InteractionWorkflow,
            ConversationWorkflow,
            ExportWorkflow,
            RetentionWorkflow,
            DeliveryWorkflow,
        ],
        workflow_runner=RUNNER,
        data_converter=DATA_CONVERTER,
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
