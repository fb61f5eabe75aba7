"""Transfer, labels, dispositions and CSAT through the API: what an agent sees, who may act,
the audit log and the events subscribers get."""

from __future__ import annotations

import secrets
from datetime import datetime

import httpx
from sqlalchemy import select
from temporalio.client import Client
from temporalio.worker import Worker

from runtime.simulate import sign_twilio, sms_fields
from switchboard.store import ApiKeys, Store
from switchboard.store.subscriptions import SubscriptionStore
from switchboard.store.tables import outbound_events
from tests.support.builders import random_phone
from tests.support.fixtures import FIXTURE_PUBLIC_URL, FIXTURE_TOKEN
from tests.support.pipeline import threaded_conversation


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _conversation(http: httpx.AsyncClient, client: Client, store: Store) -> str:
    sid = "SM" + secrets.token_hex(16)
    sms = sign_twilio(
        FIXTURE_PUBLIC_URL + "/webhooks/twilio/sms",
        sms_fields(sid, random_phone(), "+14155550100", "my parcel never came"),
        FIXTURE_TOKEN,
    )
    answer = await http.post("/webhooks/twilio/sms", content=sms.body, headers=sms.headers)
    assert answer.status_code == 200
    return await threaded_conversation(client, store, "twilio", sid)


async def test_transfer_label_resolve_with_disposition_and_csat(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store, auth: dict[str, str]
) -> None:
    SubscriptionStore(store.engine).create("https://crm.example.com/h", ["*"], None, False)
    keys = ApiKeys(store.engine)
    agent, analyst = bearer(keys.create("ana", "agent")), bearer(keys.create("otto", "analyst"))
    conversation_id = await _conversation(http, client, store)
    base = f"/api/conversations/{conversation_id}"
    before = (await http.get(base, headers=agent)).json()
    assert before["queue"] == "messaging" and before["labels"] == []

    # An analyst reads but does not act; nothing changes.
    for action, body in (
        ("transfer", {"queue": "billing"}),
        ("labels", {"add": ["vip"]}),
        ("csat", {"score": 5}),
    ):
        refused = await http.post(f"{base}/{action}", json=body, headers=analyst)
        assert refused.status_code == 403, action

    unknown = await http.post(f"{base}/transfer", json={"queue": "nowhere"}, headers=agent)
    assert unknown.status_code == 422 and "billing" in unknown.json()["detail"]
    assert (await http.post(f"{base}/transfer", json={}, headers=agent)).status_code == 422

    moved = await http.post(f"{base}/transfer", json={"queue": "billing"}, headers=agent)
    assert moved.status_code == 200
    moved_body = moved.json()
    assert moved_body["queue"] == "billing" and moved_body["assignee"] is None
    # The billing queue's first response target (2h) applies from the transfer, not the
    # messaging queue's 1h from the opening.
    due_before = datetime.fromisoformat(before["first_response_due_at"])
    due_after = datetime.fromisoformat(moved_body["first_response_due_at"])
    assert due_after > due_before
    transferred = moved_body["events"][-1]
    assert transferred["kind"] == "transferred" and transferred["actor"] == "key:ana"
    assert transferred["detail"]["queue_from"] == "messaging"
    assert transferred["detail"]["queue_to"] == "billing"
    assert transferred["detail"]["first_response_s"] == "7200"

    to_agent = await http.post(f"{base}/transfer", json={"agent": "bo"}, headers=agent)
    assert to_agent.status_code == 200 and to_agent.json()["assignee"] == "bo"
    assert to_agent.json()["queue"] == "billing"

    labeled = await http.post(
        f"{base}/labels", json={"add": ["vip", "refund", "vip"]}, headers=agent
    )
    assert labeled.status_code == 200 and labeled.json()["labels"] == ["refund", "vip"]
    relabeled = await http.post(
        f"{base}/labels", json={"add": ["late"], "remove": ["vip", "never-there"]}, headers=agent
    )
    assert relabeled.json()["labels"] == ["late", "refund"]
    assert relabeled.json()["events"][-1]["detail"]["removed"] == "vip"
    assert (await http.post(f"{base}/labels", json={}, headers=agent)).status_code == 422
    bad_label = await http.post(f"{base}/labels", json={"add": ["a,b"]}, headers=agent)
    assert bad_label.status_code == 422

    early = await http.post(f"{base}/csat", json={"score": 4}, headers=agent)
    assert early.status_code == 409 and "open" in early.json()["detail"]

    wrong = await http.post(
        f"{base}/resolve", json={"code": "answered", "disposition": "magic"}, headers=agent
    )
    assert wrong.status_code == 422 and "refund_issued" in wrong.json()["detail"]
    assert (await http.get(base, headers=agent)).json()["status"] == "open"
    resolved = await http.post(
        f"{base}/resolve", json={"code": "answered", "disposition": "refund_issued"}, headers=agent
    )
    assert resolved.status_code == 200 and resolved.json()["disposition"] == "refund_issued"
    assert resolved.json()["events"][-1]["detail"]["disposition"] == "refund_issued"

    assert (await http.post(f"{base}/csat", json={"score": 6}, headers=agent)).status_code == 422
    first = await http.post(f"{base}/csat", json={"score": 2, "comment": "slow"}, headers=auth)
    assert first.status_code == 200 and first.json()["csat_score"] == 2
    second = await http.post(f"{base}/csat", json={"score": 5}, headers=agent)
    assert second.status_code == 200 and second.json()["csat_score"] == 5
    kinds = [e["kind"] for e in second.json()["events"]]
    assert kinds[2:] == [
        "transferred",
        "transferred",
        "labeled",
        "labeled",
        "resolved",
        "csat",
        "csat",
    ]
    # A transfer is refused once it is resolved.
    late = await http.post(f"{base}/transfer", json={"queue": "orders"}, headers=agent)
    assert late.status_code == 409

    audit = (await http.get("/api/audit", params={"actor": "key:ana"}, headers=auth)).json()[
        "items"
    ]
    audited = [(a["route"].rsplit("/", 1)[-1], a["status"]) for a in audit]
    assert ("transfer", 200) in audited and ("labels", 200) in audited
    assert ("csat", 200) in audited and ("resolve", 422) in audited
    everyone = (await http.get("/api/audit", headers=auth)).json()["items"]
    assert ("csat", 403) in [
        (a["route"].rsplit("/", 1)[-1], a["status"]) for a in everyone if a["actor"] == "key:otto"
    ]
    assert "slow" not in str(everyone)

    with store.engine.connect() as conn:
        sent = [
            row.body
            for row in conn.execute(select(outbound_events).order_by(outbound_events.c.created_at))
            if row.body["data"].get("conversation_id") == conversation_id
        ]
    types = [body["type"] for body in sent]
    assert types.count("conversation.transferred") == 2
    assert types.count("conversation.labeled") == 2
    assert types.count("conversation.rated") == 2
    rated = [body["data"] for body in sent if body["type"] == "conversation.rated"]
    assert rated[-1]["csat_score"] == 5 and rated[-1]["disposition"] == "refund_issued"
    # The customer's own words stay in the conversation, not in events out.
    assert "slow" not in str(sent)
