"""One customer, one conversation across channels; agent actions through the API."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from runtime.simulate import sign_twilio, sms_fields
from switchboard.contract import Identity, IdentityKind
from switchboard.settings import IngressSettings
from switchboard.store import Store
from tests.support.builders import post_email, random_phone
from tests.support.fixtures import FIXTURE_PUBLIC_URL, FIXTURE_TOKEN
from tests.support.pipeline import threaded_conversation
from tests.support.settings import ingress_settings

USER, PASSWORD = "parse", secrets.token_urlsafe(12)


@pytest.fixture
def settings(task_queue: str, tmp_path: Any) -> IngressSettings:
    return ingress_settings(
        task_queue,
        sendgrid_inbound_user=USER,
        sendgrid_inbound_password=PASSWORD,
        data_dir=tmp_path / "data",
    )


async def test_sms_then_call_then_email_from_one_person_are_one_conversation(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store, auth: dict[str, str]
) -> None:
    phone, email = random_phone(), f"sam.{secrets.token_hex(3)}@example.com"
    customer_id = store.resolve_customer(Identity(IdentityKind.PHONE, phone))
    linked = await http.post(
        f"/api/customers/{customer_id}/identities",
        json={"kind": "email", "value": email},
        headers=auth,
    )
    assert linked.status_code == 201

    sms_sid, call_sid, message_id = (
        "SM" + secrets.token_hex(16),
        "CA" + secrets.token_hex(16),
        f"{secrets.token_hex(6)}@mail.example.com",
    )
    sms = sign_twilio(
        FIXTURE_PUBLIC_URL + "/webhooks/twilio/sms",
        sms_fields(sms_sid, phone, "+14155550100", "my order is late"),
        FIXTURE_TOKEN,
    )
    assert (
        await http.post("/webhooks/twilio/sms", content=sms.body, headers=sms.headers)
    ).status_code == 200
    first = await threaded_conversation(client, store, "twilio", sms_sid)

    call = sign_twilio(
        FIXTURE_PUBLIC_URL + "/webhooks/twilio/voice",
        [("CallSid", call_sid), ("From", phone), ("To", "+14155550100"), ("CallStatus", "ringing")],
        FIXTURE_TOKEN,
    )
    assert (
        await http.post("/webhooks/twilio/voice", content=call.body, headers=call.headers)
    ).status_code == 200
    second = await threaded_conversation(client, store, "twilio", call_sid)

    await post_email(http, (USER, PASSWORD), message_id, f"Sam <{email}>", "Order", "waiting")
    third = await threaded_conversation(client, store, "sendgrid", message_id)
    assert first == second == third

    detail = await http.get(f"/api/conversations/{first}", headers=auth)
    assert detail.status_code == 200
    conversation = detail.json()
    assert conversation["customer_id"] == customer_id
    assert conversation["status"] == "open" and conversation["queue"] == "messaging"
    assert len(conversation["interaction_ids"]) == 3
    assert [e["kind"] for e in conversation["events"]] == [
        "opened",
        "interaction",
        "interaction",
        "interaction",
    ]
    assert [e["detail"]["channel"] for e in conversation["events"][1:]] == ["sms", "voice", "email"]
    timeline = await http.get(f"/api/customers/{customer_id}/interactions", headers=auth)
    assert {i["conversation_id"] for i in timeline.json()["items"]} == {first}


async def test_agent_actions_are_validated_by_the_conversation(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store, auth: dict[str, str]
) -> None:
    sid = "SM" + secrets.token_hex(16)
    sms = sign_twilio(
        FIXTURE_PUBLIC_URL + "/webhooks/twilio/sms",
        sms_fields(sid, random_phone(), "+14155550100", "help"),
        FIXTURE_TOKEN,
    )
    assert (
        await http.post("/webhooks/twilio/sms", content=sms.body, headers=sms.headers)
    ).status_code == 200
    conversation_id = await threaded_conversation(client, store, "twilio", sid)
    base = f"/api/conversations/{conversation_id}"

    assigned = await http.post(f"{base}/assign", json={"agent": "ana"}, headers=auth)
    assert assigned.status_code == 200 and assigned.json()["assignee"] == "ana"
    premature = await http.post(f"{base}/reopen", json={}, headers=auth)
    assert premature.status_code == 409 and "open" in premature.json()["detail"]
    resolved = await http.post(f"{base}/resolve", json={"code": "answered"}, headers=auth)
    assert resolved.status_code == 200
    assert (
        resolved.json()["status"] == "resolved" and resolved.json()["resolution_code"] == "answered"
    )
    again = await http.post(f"{base}/resolve", json={"code": "answered"}, headers=auth)
    assert again.status_code == 409
    reopened = await http.post(f"{base}/reopen", json={"reason": "customer called"}, headers=auth)
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
    kinds = [e["kind"] for e in reopened.json()["events"]]
    assert kinds == ["opened", "interaction", "assigned", "resolved", "reopened"]

    queue = await http.get(
        "/api/conversations", params={"status": "open", "queue": "messaging"}, headers=auth
    )
    assert conversation_id in [c["conversation_id"] for c in queue.json()["items"]]
    assert (await http.post(f"{base}/resolve", json={"code": ""}, headers=auth)).status_code == 422
    assert (
        await http.post("/api/conversations/nope/assign", json={"agent": "a"}, headers=auth)
    ).status_code == 404
    assert (await http.get(base)).status_code == 401
    assert (
        await http.get("/api/conversations", params={"status": "weird"}, headers=auth)
    ).status_code == 422
