"""A duplicate storm: every delivery three times, concurrently, shuffled; statuses out of order.

50 inbound SMS and the status callbacks of 50 outbound messages (queued, sent, delivered), each
request delivered three times, all 600 in one shuffled concurrent burst (64 in flight) through
the real app and worker: exactly 100 interactions, one workflow per distinct event, every
outbound message at its furthest status. On both stores: SQLite, the embedded default, where
every writer queues for one lock, and PostgreSQL's concurrent upserts.

What the storm proves is the races: copies of one event in flight together. Those come from the
window of 64, not from the size of the burst: about 100 events have copies within 64 deliveries
of each other in a shuffled storm of this size, 125 in one of 3,000 (simulated), which cost four
minutes of `make test` to wait for. (PostgreSQL ran this size before; SQLite five times it.)
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
MESSAGES = 50  # of each kind
COPIES = 3
STATUSES = ("queued", "sent", "delivered")


@pytest.fixture
def settings(task_queue: str) -> IngressSettings:
    # 64 starts at once on a loaded 2-core machine can take Temporal more than the tests' 3 s;
    # the ingress's answer then (503, come back later) is not what the storm is about.
    return ingress_settings(task_queue, twilio_auth_token=TOKEN, temporal_start_timeout_s=20.0)


async def test_duplicate_storm_leaves_exactly_one_interaction_per_message(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store, task_queue: str
) -> None:
    inbound = [new_message_sid() for _ in range(MESSAGES)]
    outbound = [new_message_sid() for _ in range(MESSAGES)]
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
        f"persisted {persisted} of {2 * MESSAGES}, lost {len(lost)}, "
        f"duplicated {persisted - (2 * MESSAGES - len(lost))}"
    )
    assert acknowledged == len(deliveries)
    assert lost == []
    assert persisted == 2 * MESSAGES
    assert len([wid for wid in started if wid.startswith("interaction:")]) == len(keys)
    for sid in outbound:
        key = found[sid]
        assert key is not None
        stored = store.get_interaction(key[0])
        assert stored is not None and stored.delivery_status == "delivered", sid
