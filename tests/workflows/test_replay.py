"""Recorded histories must replay against the current workflow code (determinism guard)."""

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
)

HISTORIES = sorted(Path(__file__).with_name("histories").glob("*.json"))


def test_there_are_histories_to_replay() -> None:
    # Those of the code before conversations (11-25: the malformed message; the completed one
    # went with the branches it took, see `workflows.patches`), before signals (threading by
    # update, the `hand_off` activity), before the conversation's one patch, and of the current
    # code (`record_histories.py`), which also records a conversation through every agent action
    # and timer, and the export and retention workflows, with its payloads sealed by the tests'
    # key A, and after the conversation took interactions from the store.
    assert {path.stem for path in HISTORIES} >= {
        "interaction_sms_malformed",
        "interaction_sms_by_update",
        "interaction_sms_again_by_update",
        "conversation_by_update",
        "interaction_sms_by_signal",
        "interaction_sms_again_by_signal",
        "conversation_by_signal",
        "interaction_sms_one_patch",
        "conversation_one_patch",
        "conversation_actions_one_patch",
        "export_one_patch",
        "retention_one_patch",
        # Events out: retried (500, 429) then delivered; dead-lettered after the schedule.
        "delivery_retried_then_delivered",
        "delivery_dead_lettered",
        "interaction_sms_encrypted",
        "conversation_encrypted",
        "interaction_sms_facts_from_store",
        "conversation_facts_from_store",
        # A recording callback for a call never seen (patch `orphan-callback-wait`): kept as
        # orphaned after its wait; and one whose call is stored while it waits.
        "interaction_recording_orphaned_orphan_wait",
        "interaction_recording_merged_after_wait_orphan_wait",
        # `CustomerId` upserted after dedupe; an MMS's image and a call's recording copied by
        # `copy_media` (patch `interaction-media-copies`).
        "interaction_sms_media_copies",
        "interaction_mms_media_copies",
        "interaction_call_media_copies",
        "interaction_recording_media_copies",
    }


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
