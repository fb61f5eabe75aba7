"""The status life cycle end to end, on PostgreSQL (whose text refuses NUL, SQLite's keeps it):
a message the store refuses ends `failed` at once, a good one `completed` once threaded."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from switchboard import search_attributes as sa
from switchboard.contract import (
    UNSTORABLE,
    InteractionInput,
    Provider,
    RawEvent,
    interaction_workflow_id,
)
from switchboard.providers import push
from switchboard.store import Store
from tests.support.pipeline import threaded_conversation
from tests.support.stores import postgresql_store
from workflows import InteractionWorkflow

pytestmark = pytest.mark.postgresql


@pytest.fixture
def store(postgres: str) -> Iterator[Store]:
    with postgresql_store(postgres) as store:
        yield store


def push_reply(user_id: str, app_id: str) -> InteractionInput:
    """A push reply as the ingress archives it (the failures console retries from that)."""
    key = "msg_" + uuid.uuid4().hex
    data = {"user_id": user_id, "app_id": app_id, "reply_id": key, "reply_text": "still late"}
    body = json.dumps({"type": "push.replied", "data": data})
    return InteractionInput(
        raw=RawEvent(
            provider=Provider.PUSH,
            kind="push",
            event_key=key,
            received_at=datetime.now(UTC),
            url="https://hooks.example.com/webhooks/push",
            content_type="application/json",
            fields=push.raw_fields(key, str(int(time.time())), body),
        )
    )


async def test_a_poison_message_ends_failed_and_a_good_one_completed(
    client: Client, worker: Worker, store: Store, task_queue: str
) -> None:
    user = f"user-{uuid.uuid4()}"
    good, poison = push_reply(user, "parcels"), push_reply(user, "parcels\x00")
    handles = [
        await client.start_workflow(
            InteractionWorkflow.run,
            inp,
            id=interaction_workflow_id(inp.raw.provider, inp.raw.event_key),
            task_queue=task_queue,
        )
        for inp in (good, poison)
    ]
    await threaded_conversation(client, store, "push", good.raw.event_key)
    found = store.find_interaction_key("push", good.raw.event_key)
    assert found is not None
    stored = store.get_interaction(found[0])
    assert stored is not None and stored.status == "completed"

    # PostgreSQL refuses the app id's NUL: the workflow fails at once, not retried for ever.
    with pytest.raises(WorkflowFailureError) as info:
        await handles[1].result()
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == UNSTORABLE and cause.non_retryable
    attrs = (await handles[1].describe()).typed_search_attributes
    assert attrs.get(sa.INTERACTION_STATUS) == "failed"
    found = store.find_interaction_key("push", poison.raw.event_key)
    assert found is not None and found[1] == stored.customer_id
    failed = store.get_interaction(found[0])
    assert failed is not None and failed.status == "failed" and failed.to_address == "parcels"
    archived = store.find_raw_event("push", poison.raw.event_key)
    assert archived is not None and archived[1] == cause.message
