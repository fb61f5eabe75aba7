"""A duplicate storm: every delivery three times, concurrently, shuffled; statuses out of order.

250 inbound SMS and the status callbacks of 250 outbound messages (queued, sent, delivered),
each request delivered three times, all 3,000 in one shuffled concurrent burst through the real
app and worker: exactly 500 interactions, one workflow per distinct event, every outbound
message at its furthest status.

Full size on SQLite, the embedded default, where every writer queues for one lock; a fifth of
it on PostgreSQL, whose concurrent upserts it still races: the full storm on both took four of
`make test`'s fifteen minutes on a slow day.
"""

from __future__ import annotations

import asyncio
import random
import secrets

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.worker import Worker

from runtime.simulate import new_message_sid, sign_twilio, sms_fields
from switchboard.contract import interaction_workflow_id
from switchboard.settings import IngressSettings
from switchboard.store import Store
from switchboard.store.tables import interactions
from tests.support.builders import status_fields
from tests.support.fixtures import FIXTURE_PUBLIC_URL
from tests.support.settings import ingress_settings
from workflows import InteractionWorkflow

TOKEN = secrets.token_hex(16)
MESSAGES = 250  # of each kind, on SQLite
COPIES = 3
STATUSES = ("queued", "sent", "delivered")


@pytest.fixture
def settings(task_queue: str) -> IngressSettings:
    return ingress_settings(task_queue, twilio_auth_token=TOKEN)


async def test_duplicate_storm_leaves_exactly_one_interaction_per_message(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store, task_queue: str
) -> None:
    messages = MESSAGES if store.engine.dialect.name == "sqlite" else MESSAGES // 5
    inbound = [new_message_sid() for _ in range(messages)]
    outbound = [new_message_sid() for _ in range(messages)]
    requests: list[tuple[str, list[tuple[str, str]]]] = []
    for i, sid in enumerate(inbound):
        sender = f"+1415555{i % 50:04d}"  # 50 customers, several messages each
        requests += [("/webhooks/twilio/sms", sms_fields(sid, sender, "+14155550100", f"m{i}"))]
    for sid in outbound:
        requests += [("/webhooks/twilio/sms/status", status_fields(sid, s)) for s in STATUSES]
    deliveries = requests * COPIES
    random.shuffle(deliveries)
    slots = asyncio.Semaphore(64)

    async def deliver(path: str, fields: list[tuple[str, str]]) -> int:
        signed = sign_twilio(FIXTURE_PUBLIC_URL + path, fields, TOKEN)
        async with slots:
            response = await http.post(path, content=signed.body, headers=signed.headers)
        return response.status_code

    codes = await asyncio.gather(*(deliver(path, fields) for path, fields in deliveries))
    acknowledged = codes.count(200)

    keys = inbound + [f"{sid}:status:{s}" for sid in outbound for s in STATUSES]
    for key in keys:
        handle = client.get_workflow_handle_for(
            InteractionWorkflow.run, interaction_workflow_id("twilio", key)
        )
        await asyncio.wait_for(handle.result(), timeout=120)

    with store.engine.connect() as conn:
        persisted = conn.execute(select(func.count()).select_from(interactions)).scalar_one()
    started = [wf.id async for wf in client.list_workflows(f"TaskQueue = '{task_queue}'")]
    found = {sid: store.find_interaction_key("twilio", sid) for sid in inbound + outbound}
    lost = [sid for sid, key in found.items() if key is None]
    print(
        f"\nduplicate storm: sent {len(deliveries)}, acknowledged {acknowledged}, "
        f"persisted {persisted} of {2 * messages}, lost {len(lost)}, "
        f"duplicated {persisted - (2 * messages - len(lost))}"
    )
    assert acknowledged == len(deliveries)
    assert lost == []
    assert persisted == 2 * messages
    assert len([wid for wid in started if wid.startswith("interaction:")]) == len(keys)
    for sid in outbound:
        key = found[sid]
        assert key is not None
        stored = store.get_interaction(key[0])
        assert stored is not None and stored.delivery_status == "delivered", sid
