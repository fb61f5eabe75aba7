"""The minimal app `switchboard bench` compares Switchboard with does what bench/README.md says:
it refuses a forged request, and stores a signed SMS once however often Twilio delivers it."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import sqlalchemy as sa
from temporalio.client import Client
from temporalio.worker import Worker

from bench.minimal_app import BUILD_ID, SmsWorkflow, Store, engine_for, ingress_app, messages
from runtime.simulate import new_message_sid, sign_twilio, sms_fields

URL = "http://minimal.test/sms"


async def test_stores_a_signed_sms_once_and_refuses_a_forged_one(
    client: Client, task_queue: str, tmp_path: Path
) -> None:
    token = secrets.token_hex(16)
    engine = engine_for(f"sqlite:///{tmp_path / 'minimal.db'}")
    app = ingress_app(token, client=client, task_queue=task_queue)
    sid = new_message_sid()
    fields = sms_fields(sid, "+14155550123", "+14155550100", "hello")
    signed = sign_twilio(URL, fields, token)
    forged = sign_twilio(URL, sms_fields(new_message_sid(), "+1", "+2", "x"), "not-the-token")
    transport = httpx.ASGITransport(app=app)
    with ThreadPoolExecutor(2) as executor:
        async with (
            Worker(
                client,
                task_queue=task_queue,
                workflows=[SmsWorkflow],
                activities=[Store(engine).insert_message],
                activity_executor=executor,
                build_id=BUILD_ID,
            ),
            httpx.AsyncClient(transport=transport) as http,
        ):
            refused = await http.post(URL, content=forged.body, headers=forged.headers)
            answers = [
                await http.post(URL, content=signed.body, headers=signed.headers) for _ in range(2)
            ]
            await client.get_workflow_handle(f"sms-{sid}").result()
    assert refused.status_code == 403
    assert [a.status_code for a in answers] == [200, 200]
    assert all("<Response>" in a.text for a in answers)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(messages.c.message_sid, messages.c.body)).all()
    assert [tuple(r) for r in rows] == [(sid, "hello")]
    engine.dispose()
