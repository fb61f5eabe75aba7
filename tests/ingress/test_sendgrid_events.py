"""POST /webhooks/sendgrid/events: signed batches, one workflow per event, merged per email."""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.worker import Worker

from switchboard.contract import interaction_workflow_id
from switchboard.settings import IngressSettings
from switchboard.store import Store
from switchboard.store.tables import interactions, raw_events
from tests.support.app import Clock, app_client
from tests.support.fixtures import load_fixture
from tests.support.pipeline import assert_nothing_started
from tests.support.settings import ingress_settings
from workflows import InteractionWorkflow

SIGNED = load_fixture("sendgrid_signed_event_webhook_example.json")
EVENTS = load_fixture("sendgrid_event_webhook_events.json")
PATH = "/webhooks/sendgrid/events"

# This module's own key pair: the fixtures' keys are used only to replay the fixtures.
PRIVATE = ec.generate_private_key(ec.SECP256R1())
PUBLIC_B64 = base64.b64encode(
    PRIVATE.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()


@pytest.fixture
def settings(task_queue: str) -> IngressSettings:
    return ingress_settings(task_queue, sendgrid_event_public_key=PUBLIC_B64)


def wire(events: list[dict[str, Any]]) -> bytes:
    """SendGrid's wire format: compact JSON, events joined by ',\\r\\n', a trailing CRLF."""
    return (
        "[" + ",\r\n".join(json.dumps(e, separators=(",", ":")) for e in events) + "]\r\n"
    ).encode()


def sign(body: bytes, ts: int | None = None) -> dict[str, str]:
    timestamp = str(ts if ts is not None else int(time.time()))
    signature = PRIVATE.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }


def email_event(
    name: str, message_id: str, email: str = "Pat@Example.com", **extra: Any
) -> dict[str, Any]:
    return {
        "email": email,
        "timestamp": 1_764_000_000,
        "smtp-id": f"<{message_id}@ismtpd-1>",
        "event": name,
        "sg_event_id": secrets.token_urlsafe(16),
        "sg_message_id": f"{message_id}.filter0001.16648.5515E0B88.0",
        **extra,
    }


def count(store: Store, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


async def settled(client: Client, events: list[dict[str, Any]]) -> list[Any]:
    return [
        await client.get_workflow_handle_for(
            InteractionWorkflow.run, interaction_workflow_id("sendgrid", e["sg_event_id"])
        ).result()
        for e in events
    ]


def stored_status(store: Store, message_id: str) -> str | None:
    found = store.find_interaction_key("sendgrid", message_id)
    assert found is not None
    interaction = store.get_interaction(found[0])
    assert interaction is not None
    return interaction.delivery_status


@pytest.mark.parametrize(
    "vector",
    [
        {
            "public_key_b64_der_spki": SIGNED["public_key_b64_der_spki"],
            "X-Twilio-Email-Event-Webhook-Signature": SIGNED["headers"][
                "X-Twilio-Email-Event-Webhook-Signature"
            ],
            "X-Twilio-Email-Event-Webhook-Timestamp": SIGNED["headers"][
                "X-Twilio-Email-Event-Webhook-Timestamp"
            ],
            "raw_body": SIGNED["raw_body"],
        },
        SIGNED["upstream_vectors"]["single_event"],
        SIGNED["upstream_vectors"]["multi_event"],
    ],
    ids=["project_example", "upstream_single", "upstream_multi"],
)
async def test_SG_EVT_01_signed_vectors_verify_over_the_raw_bytes(
    vector: dict[str, str],
    client: Client,
    worker: Worker,
    store: Store,
    task_queue: str,
    clock: Clock,
) -> None:
    settings = ingress_settings(
        task_queue, sendgrid_event_public_key=vector["public_key_b64_der_spki"]
    )
    clock.now = int(vector["X-Twilio-Email-Event-Webhook-Timestamp"]) + 5
    headers = {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": vector["X-Twilio-Email-Event-Webhook-Signature"],
        "X-Twilio-Email-Event-Webhook-Timestamp": vector["X-Twilio-Email-Event-Webhook-Timestamp"],
    }
    body = vector["raw_body"].encode()
    events = json.loads(body)
    async with app_client(settings, client, store, clock) as http:
        pretty = json.dumps(events, indent=2).encode()
        assert (await http.post(PATH, content=pretty, headers=headers)).status_code == 403
        no_crlf = body.replace(b"\r\n", b"")
        assert (await http.post(PATH, content=no_crlf, headers=headers)).status_code == 403
        assert count(store, raw_events) == 0
        response = await http.post(PATH, content=body, headers=headers)
        assert response.status_code == 204
    await settled(client, events)
    assert count(store, raw_events) == len(events)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda h: {k: v for k, v in h.items() if "Signature" not in k}, "missing"),
        (lambda h: {k: v for k, v in h.items() if "Timestamp" not in k}, "missing"),
        (lambda h: {**h, "X-Twilio-Email-Event-Webhook-Signature": "%%%not base64"}, "malformed"),
        (lambda h: {**h, "X-Twilio-Email-Event-Webhook-Signature": "AAAA"}, "does not match"),
        (lambda h: {**h, "X-Twilio-Email-Event-Webhook-Timestamp": "soon"}, "unix time"),
        (
            lambda h: {
                **h,
                "X-Twilio-Email-Event-Webhook-Timestamp": str(
                    int(h["X-Twilio-Email-Event-Webhook-Timestamp"]) + 1
                ),
            },
            "does not match",
        ),
    ],
)
async def test_SG_EVT_02_missing_or_garbled_headers_are_403_not_500(
    mutate: Any, reason: str, http: httpx.AsyncClient, store: Store, client: Client, task_queue: str
) -> None:
    body = wire([email_event("delivered", secrets.token_hex(8))])
    response = await http.post(PATH, content=body, headers=mutate(sign(body)))
    assert response.status_code == 403
    assert reason in response.json()["detail"]
    assert count(store, raw_events) == 0
    await assert_nothing_started(client, task_queue)


@pytest.mark.parametrize("age", [-601, 601])
async def test_SG_EVT_03_stale_or_future_batches_are_refused(
    age: int, http: httpx.AsyncClient, clock: Clock, store: Store, client: Client, task_queue: str
) -> None:
    body = wire([email_event("delivered", secrets.token_hex(8))])
    response = await http.post(PATH, content=body, headers=sign(body, ts=int(clock.now) - age))
    assert response.status_code == 403
    assert "window" in response.json()["detail"]
    await assert_nothing_started(client, task_queue)


async def test_SG_EVT_04_events_dedupe_merge_and_tolerate_variants(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store, auth: dict[str, str]
) -> None:
    message = secrets.token_hex(8)
    opened = email_event("open", message, category="welcome", useragent="Mozilla", custom_arg="1")
    delivered = email_event("delivered", message, category=["newuser", "transactional"])
    processed = email_event("processed", message, attempt="1")
    async_bounce = {  # no sg_message_id: SendGrid's asynchronous bounce
        "email": "late@example.com",
        "timestamp": 1_764_000_100,
        "smtp-id": f"<{secrets.token_hex(6)}@ismtpd-9>",
        "event": "bounce",
        "type": "bounce",
        "reason": "550 unknown user",
        "sg_event_id": secrets.token_urlsafe(16),
    }
    first = wire([opened, delivered])
    second = wire([processed, delivered, async_bounce])  # `delivered` again: SendGrid's retry
    assert (await http.post(PATH, content=first, headers=sign(first))).status_code == 204
    assert (await http.post(PATH, content=second, headers=sign(second))).status_code == 204
    await settled(client, [opened, delivered, processed, async_bounce])

    assert count(store, raw_events) == 4
    assert count(store, interactions) == 2
    assert stored_status(store, message) == "open"
    assert stored_status(store, async_bounce["smtp-id"].strip("<>")) == "bounce"
    customer = await http.get("/api/customers", params={"email": "pat@example.com"}, headers=auth)
    assert customer.status_code == 200


async def test_malformed_batches_are_400_and_start_nothing(
    http: httpx.AsyncClient, store: Store, client: Client, task_queue: str
) -> None:
    for body, reason in [
        (b'{"event": "delivered"}\r\n', "array"),
        (b"[1, 2]", "array"),
        (b'[{"event": "delivered"', "JSON"),
        (wire([{"event": "delivered", "sg_event_id": "x"}]), "email"),
        (wire([email_event("open", "m"), {"email": "a@b.c", "sg_event_id": "y"}]), "event 1"),
    ]:
        response = await http.post(PATH, content=body, headers=sign(body))
        assert response.status_code == 400, body
        assert reason in response.json()["detail"]
    wrong_type = await http.post(
        PATH, content=b"[]", headers={**sign(b"[]"), "Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    assert count(store, raw_events) == 0
    await assert_nothing_started(client, task_queue)


async def test_batch_fixture_in_wire_format_is_accepted(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store
) -> None:
    # Fresh event ids: the Temporal server is shared by the session's tests, and an id seen
    # before is (rightly) a duplicate.
    events = [
        {**e, "sg_event_id": secrets.token_urlsafe(16)}
        for e in json.loads(EVENTS["batch_raw_body_wire_format"])
    ]
    body = wire(events)
    response = await http.post(PATH, content=body, headers=sign(body))
    assert response.status_code == 204
    await settled(client, events)
    assert count(store, raw_events) == len(events)
