"""Payloads are sealed in Temporal; the codec server opens them for admins (and, with the
machine's codec token, for `make run`'s Temporal UI)."""

from __future__ import annotations

import base64
import json
import subprocess
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from ingress.gate import LOCAL_CODEC_ACTOR
from runtime.temporal_server import temporal_binary
from switchboard.contract import conversation_workflow_id
from switchboard.payload_keys import local_codec_token
from switchboard.settings import IngressSettings
from switchboard.store import AuditLog, Store
from tests.support.app import app_client
from tests.support.builders import SMS_PATH, random_phone, signed_sms
from tests.support.pipeline import interaction_result, threaded_conversation
from tests.support.settings import API_KEY, ingress_settings

UI = "http://127.0.0.1:8233"


def raw_history(client: Client, workflow_id: str) -> dict[str, Any]:
    """The history as `temporal workflow show --output json` prints it: no codec involved."""
    shown = subprocess.run(
        [
            temporal_binary(),
            "workflow",
            "show",
            "--workflow-id",
            workflow_id,
            "--address",
            client.service_client.config.target_host,
            "--namespace",
            client.namespace,
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    history: dict[str, Any] = json.loads(shown.stdout)
    return history


def started_input(history: dict[str, Any]) -> dict[str, Any]:
    first = history["events"][0]["workflowExecutionStartedEventAttributes"]
    payloads: dict[str, Any] = first["input"]
    return payloads


@pytest.fixture
def deployed(task_queue: str) -> IngressSettings:
    """An ingress as a deployment runs it: bound beyond loopback."""
    return ingress_settings(task_queue, host="0.0.0.0", temporal_ui_url=UI)


async def test_the_raw_history_holds_no_number_or_text_and_the_codec_server_opens_it(
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
    deployed: IngressSettings,
) -> None:
    sender, text = random_phone(), "my card was charged twice"
    sid, request = signed_sms(sender=sender, body=text)
    assert (await http.post(SMS_PATH, content=request.body, headers=request.headers)).is_success
    await threaded_conversation(client, store, "twilio", sid)
    customer_id = (await interaction_result(client, "twilio", sid)).customer_id

    digits = sender.removeprefix("+")
    for workflow_id in (f"interaction:twilio:{sid}", conversation_workflow_id(customer_id)):
        shown = json.dumps(raw_history(client, workflow_id))
        assert digits not in shown and "charged twice" not in shown, workflow_id
        assert _b64("binary/encrypted") in shown, workflow_id

    sealed = started_input(raw_history(client, f"interaction:twilio:{sid}"))
    async with app_client(deployed, client, store) as exposed:
        refused = await exposed.post("/codec/decode", json=sealed)
        assert refused.status_code == 401
        opened = await exposed.post(
            "/codec/decode", json=sealed, headers={"Authorization": f"Bearer {API_KEY}"}
        )
    assert opened.status_code == 200
    plain = base64.b64decode(opened.json()["payloads"][0]["data"]).decode()
    assert digits in plain and text in plain


async def test_a_loopback_caller_needs_the_machines_codec_token_and_its_calls_are_audited(
    http: httpx.AsyncClient, settings: IngressSettings, deployed: IngressSettings, store: Store
) -> None:
    """A local proxy or tunnel makes every caller loopback: loopback alone opens nothing."""
    plain = {"payloads": [{"metadata": {"encoding": _b64("json/plain")}, "data": _b64('"hi"')}]}
    assert (await http.post("/codec/encode", json=plain)).status_code == 401
    assert (await http.post("/codec/local/guessed/encode", json=plain)).status_code == 401

    token = local_codec_token(settings.data_dir)
    local = f"/codec/local/{token}"
    sealed = (await http.post(f"{local}/encode", json=plain)).json()
    assert sealed["payloads"][0]["metadata"]["encoding"] == _b64("binary/encrypted")
    assert (await http.post(f"{local}/decode", json=sealed)).json() == plain

    rows = AuditLog(store).list()
    assert [(r["route"], r["actor"], r["status"]) for r in rows[:2]] == [
        ("/codec/decode", LOCAL_CODEC_ACTOR, 200),
        ("/codec/encode", LOCAL_CODEC_ACTOR, 200),
    ]
    assert token not in json.dumps(rows, default=str)
    # An ingress bound beyond loopback takes no such token: its callers sign in.
    async with app_client(deployed, store=store) as exposed:
        assert (await exposed.post(f"{local}/decode", json=sealed)).status_code == 401


async def test_temporal_ui_origin_gets_cors_and_others_do_not(
    client: Client, store: Store, deployed: IngressSettings
) -> None:
    async with app_client(deployed, client, store) as http:
        ours = await http.options(
            "/codec/decode",
            headers={"Origin": UI, "Access-Control-Request-Method": "POST"},
        )
        theirs = await http.options(
            "/codec/decode",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        refused = await http.post("/codec/decode", json={"payloads": []}, headers={"Origin": UI})
    assert ours.headers["access-control-allow-origin"] == UI
    assert "authorization" in ours.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in theirs.headers
    # A 401 the browser can read, so Temporal UI can say why it shows ciphertext.
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == UI


async def test_a_payload_sealed_with_an_unknown_key_is_a_400_naming_only_the_key_id(
    http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    forged = {
        "payloads": [
            {
                "metadata": {
                    "encoding": _b64("binary/encrypted"),
                    "encryption-key-id": _b64("retired-7"),
                },
                "data": _b64("x" * 40),
            }
        ]
    }
    response = await http.post("/codec/decode", json=forged, headers=auth)
    assert response.status_code == 400
    assert "retired-7" in response.text


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
