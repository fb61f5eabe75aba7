"""A worker that sends agents' replies through the real twilio and sendgrid clients, pointed at
the local provider double."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from activities.reply import Senders
from runtime.simulate import sign_twilio, sms_fields
from runtime.worker import build_worker
from switchboard.settings import WorkerSettings
from switchboard.store import Store
from tests.support.fixtures import FIXTURE_PUBLIC_URL, FIXTURE_TOKEN
from tests.support.pipeline import threaded_conversation
from tests.support.provider_double import ProviderDouble
from tests.support.settings import timeless_rules

ACCOUNT = "AC" + secrets.token_hex(16)
OUR_NUMBER = "+14155550100"
OUR_WHATSAPP = "whatsapp:+14155550100"


@asynccontextmanager
async def replying_worker(
    client: Client, store: Store, task_queue: str, double: ProviderDouble, **settings: Any
) -> AsyncIterator[Worker]:
    """The real worker, its replies sent from OUR_NUMBER, OUR_WHATSAPP and
    support@example.com to `double`."""
    worker_settings = WorkerSettings(  # type: ignore[call-arg]
        _env_file=None,
        **{
            "public_url": FIXTURE_PUBLIC_URL,
            "twilio_account_sid": ACCOUNT,
            "twilio_auth_token": FIXTURE_TOKEN,
            "twilio_from_number": OUR_NUMBER,
            "twilio_whatsapp_from": OUR_WHATSAPP,
            "twilio_api_base_url": double.url,
            "sendgrid_api_key": "SG." + secrets.token_urlsafe(20),
            "sendgrid_from_email": "support@example.com",
            "sendgrid_api_base_url": double.url,
            **settings,
        },
    )
    senders = Senders.from_settings(worker_settings)
    with ThreadPoolExecutor(16) as executor:
        async with build_worker(
            client, store, task_queue, executor, 16, None, senders, timeless_rules()
        ) as worker:
            yield worker


async def converse_by_sms(http: httpx.AsyncClient, client: Client, store: Store, phone: str) -> str:
    """A customer's SMS through the signed webhook; its conversation's id once threaded."""
    sid = "SM" + secrets.token_hex(16)
    sms = sign_twilio(
        FIXTURE_PUBLIC_URL + "/webhooks/twilio/sms",
        sms_fields(sid, phone, OUR_NUMBER, "where is my parcel?"),
        FIXTURE_TOKEN,
    )
    answer = await http.post("/webhooks/twilio/sms", content=sms.body, headers=sms.headers)
    assert answer.status_code == 200, answer.text
    return await threaded_conversation(client, store, "twilio", sid)
