"""`switchboard replay-check` replays what the server ran against this code."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from runtime.processes import switchboard_argv
from tests.support.builders import SMS_PATH, signed_sms
from tests.support.pipeline import interaction_result


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
    done = subprocess.run(
        [*switchboard_argv(), "replay-check", "--limit", "20"],
        env={**os.environ, "TEMPORAL_ADDRESS": client.service_client.config.target_host},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    replayed = int(done.stdout.split("replayed ")[1].split()[0])
    assert replayed >= 4  # the three interactions and at least one conversation
    assert ", 0 failed" in done.stdout
