"""The traffic simulator's requests, through the real app and worker: every channel lands in
the store, duplicates and shuffled callbacks change nothing, malformed requests are refused."""

from __future__ import annotations

import asyncio
import base64
import random
import secrets
from urllib.parse import parse_qsl

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.worker import Worker

from runtime import traffic
from runtime.simulate import public_key_b64
from switchboard.settings import IngressSettings
from switchboard.store import Store
from switchboard.store.tables import identities, interactions
from tests.support.settings import ingress_settings

PRIVATE = ec.generate_private_key(ec.SECP256R1())
SECRETS = traffic.Secrets(
    base_url="https://hooks.example.org",
    twilio_auth_token=secrets.token_hex(16),
    push_webhook_secret="whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
    sendgrid_inbound_auth=("parse", secrets.token_hex(8)),
    sendgrid_event_private_key=traffic.private_key_from_b64(
        base64.b64encode(
            PRIVATE.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ).decode()
    ),
)


@pytest.fixture
def settings(task_queue: str) -> IngressSettings:
    assert SECRETS.sendgrid_inbound_auth is not None
    return ingress_settings(
        task_queue,
        public_url=SECRETS.base_url,
        twilio_auth_token=SECRETS.twilio_auth_token,
        push_webhook_secret=SECRETS.push_webhook_secret,
        sendgrid_inbound_user=SECRETS.sendgrid_inbound_auth[0],
        sendgrid_inbound_password=SECRETS.sendgrid_inbound_auth[1],
        sendgrid_event_public_key=public_key_b64(PRIVATE),
    )


async def test_simulated_traffic_lands_on_every_channel(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store, task_queue: str
) -> None:
    plan = traffic.plan(12, SECRETS, random.Random(7))
    assert plan.skipped == []
    assert {r.kind for r in plan.requests} >= {
        "sms",
        "whatsapp",
        "call",
        "email",
        "push",
        "malformed",
    }

    for request in plan.requests:
        response = await http.post(request.path, content=request.body, headers=request.headers)
        if request.expect_refusal:
            assert 400 <= response.status_code < 500, (request.kind, response.text)
        else:
            assert response.status_code < 300, (request.kind, request.path, response.text)

    # Wait for the workflows the requests started (duplicates started none of their own).
    for _ in range(600):
        running = [
            wf.id
            async for wf in client.list_workflows(
                f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"
                " AND WorkflowType = 'InteractionWorkflow'"
            )
        ]
        if not running:
            break
        await asyncio.sleep(0.1)
    failed = [
        wf.id
        async for wf in client.list_workflows(
            f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Failed'"
        )
    ]
    assert failed == []
    with store.engine.connect() as conn:
        channels = dict(
            conn.execute(
                select(interactions.c.channel, func.count()).group_by(interactions.c.channel)
            ).all()
        )
    assert set(channels) == {"sms", "whatsapp", "voice", "email", "push"}
    with store.engine.connect() as conn:
        kinds = set(conn.execute(select(identities.c.kind).distinct()).scalars())
    # Withheld, browser and SIP callers, a short code and a sender ID, beside the customers.
    assert kinds >= {"anonymous", "short_code", "alphanumeric"}
    assert kinds & {"client", "sip"}


def _senders(plan: traffic.Plan) -> set[str]:
    """Who wrote or called in a plan (Twilio's `From`, WhatsApp's without its prefix)."""
    found = set()
    for request in plan.requests:
        if request.path.startswith("/webhooks/twilio") and not request.expect_refusal:
            sender = dict(parse_qsl(request.body.decode())).get("From")
            if sender:
                found.add(sender.removeprefix("whatsapp:"))
    return found


def test_the_demo_brings_new_customers_and_only_some_write_again_later() -> None:
    """The same customers writing in every plan reopened nearly every conversation the demo's
    agents resolved (a reopen rate near 100%): each plan brings new customers, and about one
    in seven writes once more a few plans later, when their conversation is mostly resolved."""
    rounds = traffic.Rounds(SECRETS, random.Random(3))
    plans = [_senders(rounds.next()) for _ in range(60)]
    seen_in: dict[str, list[int]] = {}
    for k, senders in enumerate(plans):
        for sender in senders:
            seen_in.setdefault(sender, []).append(k)
    customers = {s for s in seen_in if s.startswith("+1415555")}
    # A withheld caller ID is a customer of its own on every call.
    withheld = {"Anonymous", "+266696687"}
    back = {s: ks for s, ks in seen_in.items() if len(ks) > 1 and s not in withheld}
    # Only customers come back, once, `later` plans on; nobody else writes in two plans
    # (callers from a browser or SIP, a short code, a sender ID).
    assert set(back) <= customers
    assert all(len(ks) == 2 and ks[1] - ks[0] == rounds.later for ks in back.values())
    assert 0.1 <= len(back) / len(customers) <= 0.25, (len(back), len(customers))
    assert {"55599", "SWITCHBRD"} <= plans[0] and not {"55599", "SWITCHBRD"} & plans[1]
