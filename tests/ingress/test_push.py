"""POST /webhooks/push: Standard Webhooks verification, push statuses, replies, identity links."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.worker import Worker

from switchboard.contract import Identity, IdentityKind, interaction_workflow_id
from switchboard.settings import IngressSettings
from switchboard.store import Store
from switchboard.store.tables import interactions, raw_events
from tests.support.app import Clock, app_client
from tests.support.builders import random_phone, signed_sms
from tests.support.fixtures import load_fixture
from tests.support.pipeline import assert_nothing_started
from tests.support.settings import ingress_settings
from workflows import InteractionWorkflow

SW = load_fixture("standard_webhooks_example.json")
SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
PATH = "/webhooks/push"


@pytest.fixture
def settings(task_queue: str) -> IngressSettings:
    return ingress_settings(task_queue, push_webhook_secret=SECRET)


def sign(
    body: bytes, secret: str = SECRET, msg_id: str | None = None, ts: int | None = None
) -> dict[str, str]:
    msg_id = msg_id or "msg_" + secrets.token_hex(12)
    ts = ts if ts is not None else int(time.time())
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
        "content-type": "application/json",
    }


def event(kind: str, **data: Any) -> bytes:
    return json.dumps({"type": kind, "timestamp": "2026-11-25T10:00:00Z", "data": data}).encode()


def count(store: Store, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


async def settled(client: Client, webhook_id: str) -> Any:
    handle = client.get_workflow_handle_for(
        InteractionWorkflow.run, interaction_workflow_id("push", webhook_id)
    )
    return await handle.result()


async def test_SW_01_reference_example_with_rotation_header_is_accepted(
    client: Client, worker: Worker, store: Store, task_queue: str, clock: Clock
) -> None:
    example = SW["example"]
    settings = ingress_settings(task_queue, push_webhook_secret=example["secret"])
    clock.now = int(example["headers"]["webhook-timestamp"]) + 30
    async with app_client(settings, client, store, clock) as http:
        response = await http.post(
            PATH, content=example["raw_body"].encode(), headers=example["headers"]
        )
    assert response.status_code == 204
    result = await settled(client, example["headers"]["webhook-id"])
    stored = store.get_interaction(result.interaction_id)
    assert stored is not None
    assert stored.channel == "push" and stored.direction == "outbound"
    assert stored.provider_message_id == "ntf_01HF3Z8Q6W"
    assert stored.delivery_status == "failed"
    assert stored.content.push_payload is not None
    assert stored.content.push_payload["error"] == "DeviceNotRegistered"


@pytest.mark.parametrize("offset", [-301, 301])
async def test_SW_02_timestamps_outside_five_minutes_are_403(
    offset: int,
    http: httpx.AsyncClient,
    clock: Clock,
    store: Store,
    client: Client,
    task_queue: str,
) -> None:
    body = event("push.delivered", notification_id="n1", user_id="u1")
    headers = sign(body, ts=int(clock.now) + offset)
    response = await http.post(PATH, content=body, headers=headers)
    assert response.status_code == 403
    assert "window" in response.json()["detail"]
    assert count(store, raw_events) == 0
    await assert_nothing_started(client, task_queue)


async def test_forged_unsigned_and_reserialized_requests_are_403(
    http: httpx.AsyncClient, client: Client, store: Store, task_queue: str
) -> None:
    body = event("push.delivered", notification_id="n1", user_id="u1")
    other_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    good = sign(body)
    cases = [
        (body, sign(body, secret=other_secret)),
        (body, {k: v for k, v in good.items() if k != "webhook-signature"}),
        (body, {k: v for k, v in good.items() if k != "webhook-id"}),
        (json.dumps(json.loads(body), indent=2).encode(), good),
        (body, {**good, "webhook-signature": "v1,garbage v2,also-garbage"}),
        (body, {**good, "webhook-timestamp": "yesterday"}),
    ]
    for content, headers in cases:
        response = await http.post(PATH, content=content, headers=headers)
        assert response.status_code == 403, headers
    assert count(store, raw_events) == 0
    await assert_nothing_started(client, task_queue)


async def test_bad_type_size_and_payload_are_refused_before_anything_starts(
    http: httpx.AsyncClient, client: Client, store: Store, task_queue: str
) -> None:
    body = event("push.delivered", notification_id="n1", user_id="u1")
    as_form = {**sign(body), "content-type": "application/x-www-form-urlencoded"}
    assert (await http.post(PATH, content=body, headers=as_form)).status_code == 415
    huge = event("push.delivered", notification_id="n1", user_id="u" * 300_000)
    assert (await http.post(PATH, content=huge, headers=sign(huge))).status_code == 413
    spec = SW["spec_test_vector"]["body"].encode()  # signed correctly, but not a push event
    for bad, reason in [
        (spec, "data"),
        (b"[1, 2]", "data"),
        (b"{not json", "JSON"),
        (event("push.teleported", notification_id="n", user_id="u"), "unsupported"),
        (event("push.delivered", user_id="u"), "notification_id"),
        (event("push.replied", reply_text="hi"), "user_id"),
    ]:
        response = await http.post(PATH, content=bad, headers=sign(bad))
        assert response.status_code == 400, bad
        assert reason in response.json()["detail"]
    assert count(store, raw_events) == 0
    await assert_nothing_started(client, task_queue)


async def test_SW_03_statuses_move_forward_and_retries_are_one_event(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store
) -> None:
    notification = "ntf_" + secrets.token_hex(6)
    ids = []
    for kind in ["push.opened", "push.delivered", "push.sent"]:
        body = event(kind, notification_id=notification, user_id="user-7", unknown_field=1)
        headers = sign(body)
        ids.append(headers["webhook-id"])
        for _ in range(2):  # the sender's retry reuses webhook-id
            assert (await http.post(PATH, content=body, headers=headers)).status_code == 204
    for webhook_id in ids:
        await settled(client, webhook_id)
    assert count(store, interactions) == 1
    assert count(store, raw_events) == 3
    found = store.find_interaction_key("push", notification)
    assert found is not None
    stored = store.get_interaction(found[0])
    assert stored is not None and stored.delivery_status == "opened"


async def test_a_replys_phone_and_email_are_claims_that_join_nobody(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store, auth: dict[str, str]
) -> None:
    phone = random_phone()
    email = f"Sam.{secrets.token_hex(3)}@Example.com"
    # The person texted first; a push reply claiming their number must not join them.
    sid, sms = signed_sms(sender=phone)
    assert (
        await http.post("/webhooks/twilio/sms", content=sms.body, headers=sms.headers)
    ).status_code == 200
    sms_result = await client.get_workflow_handle_for(
        InteractionWorkflow.run, interaction_workflow_id("twilio", sid)
    ).result()

    user = "user-" + secrets.token_hex(4)
    body = event("push.replied", user_id=user, reply_text="Yes please", phone=phone, email=email)
    headers = sign(body)
    assert (await http.post(PATH, content=body, headers=headers)).status_code == 204
    result = await settled(client, headers["webhook-id"])
    assert result.customer_id != sms_result.customer_id

    # The SMS customer keeps their number and their timeline; the claims own nothing.
    by_phone = await http.get("/api/customers", params={"phone": phone}, headers=auth)
    assert [c["customer_id"] for c in by_phone.json()["items"]] == [sms_result.customer_id]
    by_email = await http.get("/api/customers", params={"email": email}, headers=auth)
    assert (by_email.status_code, by_email.json()["items"]) == (200, [])
    timeline = await http.get(f"/api/customers/{sms_result.customer_id}/interactions", headers=auth)
    assert [item["channel"] for item in timeline.json()["items"]] == ["sms"]
    # The reply is the push user's, verified by the signature, with its claims kept.
    pushed = await http.get(f"/api/customers/{result.customer_id}", headers=auth)
    assert pushed.json()["identities"] == [{"kind": "push_user", "value": user, "linked_by": None}]
    reply = (await http.get(f"/api/interactions/{result.interaction_id}", headers=auth)).json()
    assert reply["identity_verified"] is True and reply["content"]["text"] == "Yes please"
    assert {(c["kind"], c["value"]) for c in reply["claimed_identities"]} == {
        ("phone", phone),
        ("email", email.lower()),
    }
    # Only the phone names someone else's identity: one suggestion, of that kind.
    suggestions = (await http.get("/api/merge-suggestions", headers=auth)).json()["items"]
    mine = [s for s in suggestions if s["interaction_id"] == result.interaction_id]
    assert [(s["other_customer_id"], s["claim_kind"]) for s in mine] == [
        (sms_result.customer_id, "phone")
    ]


async def test_identities_can_be_linked_through_the_api(
    http: httpx.AsyncClient, store: Store, auth: dict[str, str]
) -> None:
    alice = store.resolve_customer(Identity(IdentityKind.PHONE, random_phone()))
    bob_phone = random_phone()
    bob = store.resolve_customer(Identity(IdentityKind.PHONE, bob_phone))
    path = f"/api/customers/{alice}/identities"
    linked = await http.post(
        path, json={"kind": "email", "value": "Alice@Example.com"}, headers=auth
    )
    assert linked.status_code == 201
    # Verified by whoever linked it: the actor is kept with it.
    assert {
        "kind": "email",
        "value": "alice@example.com",
        "linked_by": "key:bootstrap",
    } in linked.json()["identities"]
    again = await http.post(
        path, json={"kind": "email", "value": "alice@example.com"}, headers=auth
    )
    assert again.status_code == 201
    taken = await http.post(path, json={"kind": "phone", "value": bob_phone}, headers=auth)
    assert taken.status_code == 409
    assert store.find_customer(Identity(IdentityKind.PHONE, bob_phone))["customer_id"] == bob  # type: ignore[index]
    bad = await http.post(path, json={"kind": "phone", "value": "nope"}, headers=auth)
    assert bad.status_code == 422
    impossible = await http.post(path, json={"kind": "phone", "value": "+1 23"}, headers=auth)
    assert impossible.status_code == 422
    assert impossible.json()["errors"][0]["location"] == ["body", "value"]
    unknown = await http.post(
        "/api/customers/nobody/identities", json={"kind": "push_user", "value": "u"}, headers=auth
    )
    assert unknown.status_code == 404
    unauthorized = await http.post(path, json={"kind": "push_user", "value": "u"})
    assert unauthorized.status_code == 401
