"""The failed-event console: an orphaned recording is listed, then retried into its call; a
message retrying too long is listed as stuck."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker
from typer.testing import CliRunner

from runtime.cli import app
from runtime.simulate import sign_twilio
from switchboard.contract import InteractionResult, interaction_workflow_id
from switchboard.settings import IngressSettings
from switchboard.store import Store
from switchboard.store.tables import interactions
from tests.support.app import app_client
from tests.support.builders import SMS_PATH, signed_sms
from tests.support.fixtures import FIXTURE_PUBLIC_URL, load_fixture
from tests.support.keys import PAYLOAD_KEYS
from tests.support.pipeline import running_worker
from tests.support.settings import ingress_settings

TOKEN = secrets.token_hex(16)
VOICE = load_fixture("twilio_voice.json")


@pytest.fixture
def settings(task_queue: str) -> IngressSettings:
    return ingress_settings(task_queue, twilio_auth_token=TOKEN, orphan_callback_wait_s=5)


async def post(http: httpx.AsyncClient, path: str, params: dict[str, str]) -> int:
    signed = sign_twilio(FIXTURE_PUBLIC_URL + path, list(params.items()), TOKEN)
    return (await http.post(path, content=signed.body, headers=signed.headers)).status_code


def cli_env(
    client: Client, store: Store, task_queue: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> CliRunner:
    """The CLI's environment: the test's Temporal, store and task queue, as an operator's."""
    for name, value in {
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": client.namespace,
        "SWITCHBOARD_DATABASE_URL": store.engine.url.render_as_string(hide_password=False),
        "SWITCHBOARD_DATA_DIR": str(data_dir),
        "SWITCHBOARD_TASK_QUEUE": task_queue,
        "SWITCHBOARD_PAYLOAD_KEYS": PAYLOAD_KEYS,
        "SWITCHBOARD_ORPHAN_CALLBACK_WAIT_S": "5",
    }.items():
        monkeypatch.setenv(name, value)
    return CliRunner()


async def switchboard(cli: CliRunner, *args: str) -> str:
    """Run `switchboard ARGS` (the real Typer app, in a thread: it runs its own event loop)."""
    result = await asyncio.to_thread(cli.invoke, app, list(args), env={"COLUMNS": "500"})
    assert result.exit_code == 0, result.output
    return result.output


async def listed(
    http: httpx.AsyncClient, auth: dict[str, str], workflow_id: str
) -> list[dict[str, object]]:
    """The failures listed for `workflow_id`, once visibility has caught up (or none)."""
    for _ in range(50):
        response = await http.get("/api/failures", headers=auth)
        assert response.status_code == 200, response.text
        found = [f for f in response.json()["items"] if f["workflow_id"] == workflow_id]
        if found:
            return found
        await asyncio.sleep(0.2)
    return []


async def test_orphaned_recording_is_listed_then_retried_into_its_call(
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
    auth: dict[str, str],
    task_queue: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = datetime.now(UTC)
    call_sid, recording_sid = "CA" + secrets.token_hex(16), "RE" + secrets.token_hex(16)
    ids = {"CallSid": call_sid, "RecordingSid": recording_sid}
    recording = VOICE["recording_status_completed"]["params"] | ids
    workflow_id = interaction_workflow_id(
        "twilio", f"{call_sid}:recording:{recording_sid}:completed"
    )

    # A recording for a call never seen: it waits SWITCHBOARD_ORPHAN_CALLBACK_WAIT_S (5 s).
    assert await post(http, "/webhooks/twilio/voice/recording", recording) == 200
    orphaned = await client.get_workflow_handle(workflow_id, result_type=InteractionResult).result()
    assert orphaned.orphaned and not orphaned.created

    [failure] = await listed(http, auth, workflow_id)
    assert failure["state"] == "orphaned"
    assert (failure["provider"], failure["kind"]) == ("twilio", "voice_recording")
    assert "never arrived" in failure["reason"] and failure["attempts"] == 1
    assert failure["temporal_url"].endswith("/workflows/" + workflow_id.replace(":", "%3A"))
    assert "+1415" not in str(failure)  # no personal data

    # The call's own webhook arrives; retrying the recording merges it into the call.
    call = VOICE["inbound_call"]["params"] | ids
    assert await post(http, "/webhooks/twilio/voice", call) == 200
    await client.get_workflow_handle(interaction_workflow_id("twilio", call_sid)).result()
    # `switchboard failures`, the operator's side of the same console.
    cli = cli_env(client, store, task_queue, tmp_path, monkeypatch)
    listing = await switchboard(cli, "failures", "list", "--kind", "voice_recording")
    # Captured, not a terminal: a tab-separated line, the id whole, as `retry` takes it.
    assert listing.splitlines()[0].startswith(f"{workflow_id}\torphaned\tvoice_recording\t")
    retried = await switchboard(
        cli, "failures", "retry", "--kind", "voice_recording", "--since", started.isoformat()
    )
    assert "matched: 1" in retried and "started: 1" in retried
    merged = await client.get_workflow_handle(workflow_id, result_type=InteractionResult).result()
    assert not merged.orphaned
    found = store.find_interaction_key("twilio", call_sid)
    assert found is not None
    stored = store.get_interaction(found[0])
    assert stored is not None and stored.content.audio_url == recording["RecordingUrl"]
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(interactions)).scalar_one() == 1

    # Retrying what has meanwhile succeeded is a harmless 200; it is no longer listed.
    again = await http.post(f"/api/failures/{workflow_id}/retry", headers=auth)
    assert (again.status_code, again.json()["outcome"]) == (200, "already_succeeded")
    await asyncio.sleep(1)
    assert await listed(http, auth, workflow_id) == []
    counts = await http.post("/api/failures/retry", json={"provider": "twilio"}, headers=auth)
    assert counts.status_code == 200 and counts.json()["started"] == 0


async def test_failures_need_an_api_key(http: httpx.AsyncClient) -> None:
    assert (await http.get("/api/failures")).status_code == 401
    assert (await http.post("/api/failures/retry", json={})).status_code == 401
    assert (await http.post("/api/failures/interaction:twilio:x/retry")).status_code == 401


async def test_a_message_retrying_past_the_threshold_is_listed_as_stuck_and_left_to_retry(
    client: Client, store: Store, auth: dict[str, str], task_queue: str, tmp_path: Path
) -> None:
    """Accepted by the real ingress, then retried by a worker whose store cannot be opened:
    after `SWITCHBOARD_FAILURES_STUCK_AFTER_S` it is stuck; a retry leaves it to Temporal."""
    settings = ingress_settings(task_queue, failures_stuck_after_s=1)
    unreachable = Store.from_url(f"sqlite:///{tmp_path / 'missing' / 'switchboard.db'}")
    sid, request = signed_sms()
    workflow_id = interaction_workflow_id("twilio", sid)
    async with (
        app_client(settings, client, store) as http,
        running_worker(client, unreachable, task_queue, slots=2),
    ):
        response = await http.post(SMS_PATH, content=request.body, headers=request.headers)
        assert response.status_code == 200
        try:
            await asyncio.sleep(1.5)
            [failure] = await listed(http, auth, workflow_id)
            assert failure["state"] == "stuck" and failure["provider"] == "twilio"
            assert failure["reason"].startswith("still retrying after")
            one = await http.post(f"/api/failures/{workflow_id}/retry", headers=auth)
            assert (one.status_code, one.json()["outcome"]) == (202, "running")
            counts = await http.post(
                "/api/failures/retry", json={"provider": "twilio"}, headers=auth
            )
            assert counts.status_code == 200 and counts.json()["started"] == 0
            description = await client.get_workflow_handle(workflow_id).describe()
            assert description.status == WorkflowExecutionStatus.RUNNING
        finally:
            await client.get_workflow_handle(workflow_id).terminate("test over")
