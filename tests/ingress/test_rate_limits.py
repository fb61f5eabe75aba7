"""Rate limits per credential and route group; webhooks are never limited by them."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest
from temporalio.client import Client

from runtime.simulate import sign_twilio, sms_fields
from switchboard.contract import Identity, IdentityKind
from switchboard.settings import IngressSettings
from switchboard.store import ApiKeys, Store
from tests.support.app import Clock, app_client
from tests.support.builders import random_phone
from tests.support.fixtures import FIXTURE_PUBLIC_URL, FIXTURE_TOKEN
from tests.support.settings import ingress_settings
from tests.support.stores import postgresql_store

ACTIONS = 3


@pytest.fixture
def settings(task_queue: str) -> IngressSettings:
    return ingress_settings(task_queue, rate_limit_actions_per_minute=ACTIONS)


def link(customer_id: str) -> tuple[str, dict[str, str]]:
    return f"/api/customers/{customer_id}/identities", {"kind": "push_user", "value": "u-1"}


async def sms_burst(http: httpx.AsyncClient, count: int) -> list[int]:
    async def one() -> int:
        signed = sign_twilio(
            FIXTURE_PUBLIC_URL + "/webhooks/twilio/sms",
            sms_fields("SM" + secrets.token_hex(16), random_phone(), "+14155550100", "hi"),
            FIXTURE_TOKEN,
        )
        answer = await http.post(
            "/webhooks/twilio/sms", content=signed.body, headers=signed.headers
        )
        return answer.status_code

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def test_the_action_over_the_limit_is_429_while_webhooks_keep_flowing(
    http: httpx.AsyncClient, store: Store, auth: dict[str, str], clock: Clock
) -> None:
    customer = store.resolve_customer(Identity(IdentityKind.PHONE, random_phone()))
    path, body = link(customer)
    clock.now = 1_000_000 * 60 + 10  # ten seconds into a window
    answers = [(await http.post(path, json=body, headers=auth)) for _ in range(ACTIONS)]
    assert [a.status_code for a in answers] == [201] * ACTIONS
    assert answers[-1].headers["ratelimit-policy"] == f'"actions";q={ACTIONS};w=60'
    assert answers[-1].headers["ratelimit"] == '"actions";r=0;t=50'

    over, webhooks = await asyncio.gather(
        http.post(path, json=body, headers=auth), sms_burst(http, 8)
    )
    assert over.status_code == 429
    assert over.headers["retry-after"] == "50"
    assert over.headers["content-type"] == "application/problem+json"
    assert over.json()["type"] == "urn:switchboard:problem:rate-limited"
    assert webhooks == [200] * 8

    # Reads are a group of their own, and so is another credential's every group.
    assert (await http.get(f"/api/customers/{customer}/interactions", headers=auth)).is_success
    other = ApiKeys(store.engine).create("ci-other-agent", "admin")
    other_auth = {"Authorization": f"Bearer {other}"}
    assert (await http.post(path, json=body, headers=other_auth)).status_code == 201

    clock.now += 50  # the next window
    assert (await http.post(path, json=body, headers=auth)).status_code == 201


async def test_replicas_on_postgresql_share_one_limit(
    postgres: str, client: Client, settings: IngressSettings, auth: dict[str, str], clock: Clock
) -> None:
    with postgresql_store(postgres) as store:
        customer = store.resolve_customer(Identity(IdentityKind.PHONE, random_phone()))
        path, body = link(customer)
        clock.now = 2_000_000 * 60
        async with (
            app_client(settings, client, store, clock) as one,
            app_client(settings, client, store, clock) as two,
        ):
            codes = [
                (await replica.post(path, json=body, headers=auth)).status_code
                for replica in (one, two, one, two)
            ]
    assert codes == [201, 201, 201, 429]
