"""Refused deliveries are data: every webhook request the ingress refuses is counted per
minute, provider, endpoint and reason in the store (never its body), off the request's path."""

from __future__ import annotations

import asyncio

from switchboard.store import Store
from switchboard.store.refusals import list_refusals
from tests.support.app import app_client
from tests.support.refused import EXPECTED, refuse_one_of_each, stored_counts
from tests.support.settings import ingress_settings


def provider(path: str) -> str:
    return path.split("/")[2]


async def test_each_refused_delivery_is_stored_by_endpoint_and_reason(store: Store) -> None:
    answered = await refuse_one_of_each(store, rounds=2)
    assert answered == EXPECTED
    # Two rounds, added to the same rows (upsert-increment): one row per minute, endpoint and
    # reason, never a body.
    assert stored_counts(store) == {
        (provider(path), path, str(reason)): 2 for path, reason in EXPECTED
    }
    assert {row.minute.second for row in list_refusals(store.engine)} == {0}


async def test_counts_are_flushed_while_the_ingress_runs_and_added_across_processes(
    store: Store,
) -> None:
    settings = ingress_settings("tq-refused", refusals_flush_interval_s=0.05)
    async with app_client(settings, store=store) as http:
        response = await http.post("/webhooks/twilio/sms", content=b"x", headers={})
        assert response.status_code == 415
        for _ in range(100):  # flushed by the running app, not only at shutdown
            if list_refusals(store.engine):
                break
            await asyncio.sleep(0.05)
        (row,) = list_refusals(store.engine)
        assert (row.endpoint, row.reason, row.refused) == ("/webhooks/twilio/sms", "malformed", 1)
        # Another ingress process adds to the same row.
        async with app_client(settings, store=store) as other:
            await other.post("/webhooks/twilio/sms", content=b"x", headers={})
    assert [r.refused for r in list_refusals(store.engine)] == [2]
