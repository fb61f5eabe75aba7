"""Bodies, addresses and secrets stay out of INFO logs."""

from __future__ import annotations

import logging
import secrets

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from switchboard.contract import interaction_workflow_id
from switchboard.logs import RedactQueryString
from tests.conftest import API_KEY, FIXTURE_TOKEN
from tests.helpers import random_phone, signed_sms
from workflows import InteractionWorkflow


def test_access_log_query_strings_are_redacted() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/customers?phone=%2B14155550123", "1.1", 200),
        None,
    )
    assert RedactQueryString().filter(record)
    assert "4155550123" not in record.getMessage()
    assert "/api/customers?…" in record.getMessage()


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
