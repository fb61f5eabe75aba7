"""Bodies, addresses and secrets stay out of INFO logs."""

from __future__ import annotations

import io
import json
import logging
import secrets

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from switchboard import logs
from switchboard.contract import interaction_workflow_id
from switchboard.settings import IngressSettings
from tests.support.builders import random_phone, signed_sms
from tests.support.fixtures import FIXTURE_TOKEN
from tests.support.settings import API_KEY
from workflows import InteractionWorkflow


def test_log_lines_are_json_with_secrets_and_addresses_scrubbed() -> None:
    """The last line of defence: what a library or an exception quotes is scrubbed too."""
    token, key = secrets.token_hex(16), secrets.token_hex(8)
    settings = IngressSettings(
        _env_file=None,  # type: ignore[call-arg]
        twilio_auth_token=token,
        api_keys=f"{key},other-key-{key}",
        log_format="json",
    )
    out = io.StringIO()
    logs.configure(settings, "ingress", out)
    try:
        raise ValueError(f"cannot parse From '+14155550123' for ana@example.com with {token}")
    except ValueError:
        logging.getLogger("some.library").exception("request failed (key %s)", key)
    line = json.loads(out.getvalue())
    assert line["level"] == "ERROR" and line["service"] == "switchboard-ingress"
    assert line["message"] == "request failed (key [redacted])"
    for leaked in (token, key, "+14155550123", "ana@example.com"):
        assert leaked not in out.getvalue()
    assert "ValueError" in line["exc_info"]  # the traceback itself is kept


async def test_api_query_strings_stay_out_of_the_access_log(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ingress.access")
    await http.get("/api/customers", params={"phone": "+14155550123"})
    (line,) = [r for r in caplog.records if r.name == "ingress.access"]
    assert line.getMessage() == "GET /api/customers 401"


async def test_a_message_leaves_no_body_address_or_secret_in_info_logs(
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    caplog: pytest.LogCaptureFixture,
    auth: dict[str, str],
) -> None:
    caplog.set_level(logging.INFO)
    phone = random_phone()
    body = "my card number is " + secrets.token_hex(8)
    sid, request = signed_sms(sender=phone, body=body)
    assert (
        await http.post(
            request.url.removeprefix("https://hooks.example.com"),
            content=request.body,
            headers=request.headers,
        )
    ).status_code == 200
    await client.get_workflow_handle_for(
        InteractionWorkflow.run, interaction_workflow_id("twilio", sid)
    ).result()
    await http.get("/api/customers", params={"phone": phone}, headers=auth)
    forged = {**request.headers, "X-Twilio-Signature": "forged"}
    await http.post("/webhooks/twilio/sms", content=request.body, headers=forged)
    logged = "\n".join(
        r.getMessage()
        for r in caplog.records
        # The test's own HTTP client logs its request URLs; the app's loggers are under test.
        if r.levelno >= logging.INFO and r.name != "httpx"
    )
    assert "accepted" in logged  # the logs do say what happened
    for secret in (body, phone, phone.removeprefix("+"), FIXTURE_TOKEN, API_KEY):
        assert secret not in logged
