"""`switchboard replay-check` replays what the server ran, or the recorded histories, against
this code."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from runtime.processes import switchboard_argv
from tests.support.builders import SMS_PATH, signed_sms
from tests.support.keys import DATA_CONVERTER, KEY_A, KEY_B
from tests.support.pipeline import interaction_result
from tests.support.settings import REPLAY_NAMESPACE

RECORDED = Path(__file__).parents[1] / "workflows" / "histories"


@pytest.fixture
def client(temporal_env: WorkflowEnvironment) -> Client:
    """A namespace of this test's own: replay-check replays the most recent executions of each
    workflow type, and the other tests' executions (some run by replacement workflows, some
    sealed with other keys) are not what this test judges."""
    return Client(
        temporal_env.client.service_client,
        namespace=REPLAY_NAMESPACE,
        data_converter=DATA_CONVERTER,
    )


def replay_check(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    done = subprocess.run(
        [*switchboard_argv(), "replay-check", *args],
        # The tests' keys: the histories are sealed (with B by the key-rotation test, if run).
        env={**os.environ, "SWITCHBOARD_PAYLOAD_KEYS": f"{KEY_A},{KEY_B}", **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


async def test_replay_check_passes_on_the_histories_this_code_made(
    http: httpx.AsyncClient, client: Client, worker: Worker, tmp_path: Path
) -> None:
    sids = []
    for _ in range(3):
        sid, request = signed_sms()
        assert (
            await http.post(SMS_PATH, content=request.body, headers=request.headers)
        ).status_code == 200
        sids.append(sid)
    for sid in sids:
        await interaction_result(client, "twilio", sid)
    code, output = replay_check(
        "--limit",
        "20",
        cwd=tmp_path,
        env={
            "TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": REPLAY_NAMESPACE,
        },
    )
    assert code == 0, output
    replayed = int(output.split("replayed ")[1].split()[0])
    assert replayed >= 4  # the three interactions and at least one conversation
    assert ", 0 failed" in output


def test_replay_check_replays_the_recorded_histories_and_names_one_that_breaks(
    tmp_path: Path,
) -> None:
    # Every recorded history, and beside them one carrying the marker of a patch the code no
    # longer asks: what deleting a patch call too early does to the executions still running.
    # One run (a process start and the replayer's set-up each cost seconds): the recorded
    # ones pass, the broken one fails and is the one named.
    recorded = sorted(RECORDED.glob("*.json"))
    for path in recorded:
        shutil.copy(path, tmp_path / path.name)
    history = json.loads((RECORDED / "conversation_one_patch.json").read_text())
    for event in history["events"]:
        details = event.get("markerRecordedEventAttributes", {}).get("details", {})
        if "patch-data" in details:
            payload = details["patch-data"]["payloads"][0]
            patch = json.loads(base64.b64decode(payload["data"]))
            payload["data"] = base64.b64encode(
                json.dumps({**patch, "id": "a-deleted-patch"}).encode()
            ).decode()
    (tmp_path / "broken.json").write_text(json.dumps(history))
    code, output = replay_check("--histories", str(tmp_path), cwd=tmp_path)
    assert code == 1, output
    assert f"replayed {len(recorded) + 1} histories, 1 failed" in output
    assert "broken" in output
    named = [path.stem for path in recorded if path.stem in output]
    assert named == [], output
