"""Idempotency-Key: a retried action is answered again, never done twice."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import select, update
from temporalio.client import Client
from temporalio.worker import Worker

from switchboard.store import Store
from switchboard.store.tables import idempotency_keys
from tests.support.app import Clock
from tests.support.builders import random_phone
from tests.support.provider_double import ProviderDouble
from tests.support.replies import converse_by_sms


def keyed(auth: dict[str, str], key: str) -> dict[str, str]:
    return {**auth, "Idempotency-Key": key}


async def reply_path(http: httpx.AsyncClient, client: Client, store: Store) -> str:
    """Where to reply in a new customer's conversation."""
    conversation_id = await converse_by_sms(http, client, store, random_phone())
    return f"/api/conversations/{conversation_id}/reply"


async def test_a_reply_sent_twice_with_one_key_is_one_sms_and_the_same_answer(
    http: httpx.AsyncClient,
    client: Client,
    store: Store,
    replying: Worker,
    double: ProviderDouble,
    auth: dict[str, str],
) -> None:
    path = await reply_path(http, client, store)
    headers = keyed(auth, str(uuid.uuid4()))
    first = await http.post(path, json={"text": "It ships today."}, headers=headers)
    again = await http.post(path, json={"text": "It ships today."}, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200), first.text
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert len(double.requests) == 1

    other = await http.post(path, json={"text": "It ships tomorrow."}, headers=headers)
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"] == "urn:switchboard:problem:idempotency-key-reused"
    assert len(double.requests) == 1


async def test_concurrent_duplicates_are_done_once(
    http: httpx.AsyncClient,
    client: Client,
    store: Store,
    replying: Worker,
    double: ProviderDouble,
    auth: dict[str, str],
) -> None:
    path = await reply_path(http, client, store)
    headers = keyed(auth, str(uuid.uuid4()))
    answers = await asyncio.gather(
        *(http.post(path, json={"text": "On its way."}, headers=headers) for _ in range(4))
    )
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert len(double.requests) == 1


async def test_a_call_whose_ingress_died_is_taken_over_and_temporal_does_it_once(
    http: httpx.AsyncClient,
    client: Client,
    store: Store,
    replying: Worker,
    double: ProviderDouble,
    auth: dict[str, str],
    clock: Clock,
) -> None:
    """The key is (part of) the Temporal update id: a retry that reaches Temporal again (the
    first ingress sent the update and died before recording its answer) is not sent twice."""
    path = await reply_path(http, client, store)
    key = str(uuid.uuid4())
    first = await http.post(path, json={"text": "Sorted."}, headers=keyed(auth, key))
    assert first.status_code == 200
    with store.engine.begin() as conn:  # as if the answer had never been recorded
        conn.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.idempotency_key == key)
            .values(status=None, answer=None)
        )
    clock.now += 300  # long after the first call should have answered
    retried = await http.post(path, json={"text": "Sorted."}, headers=keyed(auth, key))
    assert retried.status_code == 200, retried.text
    assert retried.json()["interaction_ids"] == first.json()["interaction_ids"]
    assert len(double.requests) == 1


async def test_a_new_key_is_created_once_and_its_answer_is_kept_sealed(
    http: httpx.AsyncClient, store: Store, auth: dict[str, str]
) -> None:
    headers = keyed(auth, "create-ci-key-1")
    body = {"name": "ci-idem", "role": "agent"}
    first = await http.post("/api/keys", json=body, headers=headers)
    again = await http.post("/api/keys", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    # Without the key, the same request is a new one: the name is taken.
    assert (await http.post("/api/keys", json=body, headers=auth)).status_code == 409
    with store.engine.connect() as conn:
        stored = conn.execute(select(idempotency_keys.c.answer)).scalar_one()
    assert first.json()["key"].encode() not in stored


async def test_an_invalid_key_is_refused(http: httpx.AsyncClient, auth: dict[str, str]) -> None:
    body = {"name": "ci-bad-key", "role": "agent"}
    for key in ("", "with space", "x" * 256):
        refused = await http.post("/api/keys", json=body, headers=keyed(auth, key))
        assert refused.status_code == 422, key
        assert refused.json()["errors"][0]["location"] == ["header", "Idempotency-Key"]
