"""Payloads are sealed in Temporal; the codec server opens them for admins (and for `make run`)."""

from __future__ import annotations

import base64
import json
import subprocess
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from runtime.temporal_server import temporal_binary
from switchboard.contract import conversation_workflow_id
from switchboard.settings import IngressSettings
from switchboard.store import Store
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


async def test_loopback_to_a_loopback_ingress_decodes_without_credentials(
    http: httpx.AsyncClient, settings: IngressSettings, client: Client, store: Store
) -> None:
    plain = {"payloads": [{"metadata": {"encoding": _b64("json/plain")}, "data": _b64('"hi"')}]}
    sealed = (await http.post("/codec/encode", json=plain)).json()
    assert sealed["payloads"][0]["metadata"]["encoding"] == _b64("binary/encrypted")
    assert (await http.post("/codec/decode", json=sealed)).json() == plain
    # The same ingress, asked from another machine: credentials needed.
    async with app_client(settings, client, store) as http_remote:
        transport = httpx.ASGITransport(
            app=http_remote._transport.app,  # type: ignore[attr-defined]
            client=("203.0.113.7", 50000),
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as far:
            assert (await far.post("/codec/decode", json=sealed)).status_code == 401


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
    http: httpx.AsyncClient,
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
    response = await http.post("/codec/decode", json=forged)
    assert response.status_code == 400
    assert "retired-7" in response.text


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
