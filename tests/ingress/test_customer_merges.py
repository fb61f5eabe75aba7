"""Merge and split through the API and the CLI, on the real pipeline: what the merged id
answers, where conversations and new messages go, the audit log and the events out."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker
from typer.testing import CliRunner

from activities.conversations import ConversationActivities
from runtime.cli import app
from runtime.simulate import sign_twilio, sms_fields
from switchboard.contract import (
    ConversationPolicy,
    HandOffInput,
    Identity,
    IdentityKind,
    Status,
    conversation_workflow_id,
)
from switchboard.store import ApiKeys, ConversationStore, Store
from switchboard.store.merges import CustomerMerges
from switchboard.store.subscriptions import SubscriptionStore
from switchboard.store.tables import audit_log, outbound_events
from tests.support.builders import random_phone, sms_interaction
from tests.support.fixtures import FIXTURE_PUBLIC_URL, FIXTURE_TOKEN
from tests.support.pipeline import threaded_conversation

OUR_NUMBER = "+14155550100"


async def text(http: httpx.AsyncClient, client: Client, store: Store, phone: str) -> str:
    """An SMS from `phone` through the real webhook; the conversation it was threaded into."""
    sid = "SM" + secrets.token_hex(16)
    signed = sign_twilio(
        FIXTURE_PUBLIC_URL + "/webhooks/twilio/sms",
        sms_fields(sid, phone, OUR_NUMBER, "any news?"),
        FIXTURE_TOKEN,
    )
    response = await http.post("/webhooks/twilio/sms", content=signed.body, headers=signed.headers)
    assert response.status_code == 200
    return await threaded_conversation(client, store, "twilio", sid)


def audited(store: Store, route: str) -> list[tuple[object, ...]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.actor, audit_log.c.role, audit_log.c.status, audit_log.c.target)
            .where(audit_log.c.route == route)
            .order_by(audit_log.c.audit_id)
        ).all()
    return [tuple(r) for r in rows]


async def test_a_merged_customers_conversation_stays_open_and_new_messages_go_to_the_survivor(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store, auth: dict[str, str]
) -> None:
    SubscriptionStore(store.engine).create("http://127.0.0.1:9/x", ["*"], None, False)
    ana_phone, ben_phone = random_phone(), random_phone()
    ana_conversation = await text(http, client, store, ana_phone)
    ben_conversation = await text(http, client, store, ben_phone)
    ana = (await http.get(f"/api/conversations/{ana_conversation}", headers=auth)).json()
    ben = (await http.get(f"/api/conversations/{ben_conversation}", headers=auth)).json()
    ana_id, ben_id = ana["customer_id"], ben["customer_id"]

    merged = await http.post(f"/api/customers/{ana_id}/merge", json={"from": ben_id}, headers=auth)
    assert merged.status_code == 200, merged.text
    assert {i["value"] for i in merged.json()["identities"]} == {ana_phone, ben_phone}
    again = await http.post(f"/api/customers/{ana_id}/merge", json={"from": ben_id}, headers=auth)
    assert again.status_code == 200 and again.json() == merged.json()
    gone = (await http.get(f"/api/customers/{ben_id}", headers=auth)).json()
    assert (gone["merged_into"], gone["identities"]) == (ana_id, [])
    ben_timeline = (await http.get(f"/api/customers/{ben_id}/interactions", headers=auth)).json()
    ana_timeline = (await http.get(f"/api/customers/{ana_id}/interactions", headers=auth)).json()
    assert ben_timeline == ana_timeline and len(ana_timeline["items"]) == 2

    # Both conversations stay open, under Ana; Ben's is still acted on through its workflow.
    for conversation_id in (ana_conversation, ben_conversation):
        shown = (await http.get(f"/api/conversations/{conversation_id}", headers=auth)).json()
        assert (shown["customer_id"], shown["status"]) == (ana_id, "open")
    assigned = await http.post(
        f"/api/conversations/{ben_conversation}/assign", json={"agent": "bo"}, headers=auth
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assignee"] == "bo" and assigned.json()["customer_id"] == ana_id
    assert [e["kind"] for e in assigned.json()["events"]][-1] == "assigned"
    # Ben writes again: Ana's customer, Ana's conversation.
    assert await text(http, client, store, ben_phone) == ana_conversation

    with store.engine.connect() as conn:
        (body,) = conn.execute(
            select(outbound_events.c.body).where(outbound_events.c.type == "customer.merged")
        ).scalars()
    assert body["data"] == {"customer_id": ana_id, "merged_customer_id": ben_id}
    route = "/api/customers/{customer_id}/merge"
    assert audited(store, route) == [("key:bootstrap", "admin", 200, ana_id)] * 2

    # Erasing Ana erases Ben's conversation workflow too: its history carries Ben's id.
    assert (await http.delete(f"/api/customers/{ana_id}", headers=auth)).status_code == 200
    with pytest.raises(RPCError):
        await client.get_workflow_handle(conversation_workflow_id(ben_id)).describe()
    assert (await http.get(f"/api/customers/{ben_id}", headers=auth)).status_code == 404


async def test_merge_and_split_refuse_what_cannot_be_done_and_analysts(
    http: httpx.AsyncClient, store: Store, auth: dict[str, str]
) -> None:
    SubscriptionStore(store.engine).create("http://127.0.0.1:9/x", ["*"], None, False)
    phone, address = random_phone(), f"kim.{secrets.token_hex(3)}@example.com"
    kim = store.resolve_customer(Identity(IdentityKind.PHONE, phone))
    store.link_identity(kim, Identity(IdentityKind.EMAIL, address))
    other = store.resolve_customer(Identity(IdentityKind.PHONE, random_phone()))
    merge = f"/api/customers/{kim}/merge"
    assert (await http.post(merge, json={"from": kim}, headers=auth)).status_code == 409
    assert (await http.post(merge, json={"from": "nobody"}, headers=auth)).status_code == 404
    erased = store.resolve_customer(Identity(IdentityKind.PHONE, random_phone()))
    assert (await http.delete(f"/api/customers/{erased}", headers=auth)).status_code == 200
    assert (await http.post(merge, json={"from": erased}, headers=auth)).status_code == 404
    assert (await http.post(merge, json={}, headers=auth)).status_code == 422

    split = f"/api/customers/{kim}/split"
    theirs = {"identities": [{"kind": "phone", "value": random_phone()}]}
    assert (await http.post(split, json=theirs, headers=auth)).status_code == 409
    bad = {"identities": [{"kind": "phone", "value": "+1 000"}]}  # no possible number
    assert (await http.post(split, json=bad, headers=auth)).status_code == 422
    assert (await http.post(split, json={"identities": []}, headers=auth)).status_code == 422

    analyst = {"Authorization": "Bearer " + ApiKeys(store.engine).create("ann", "analyst")}
    moving = {"identities": [{"kind": "email", "value": address.upper()}]}
    for path, body in [(merge, {"from": other}), (split, moving)]:
        refused = await http.post(path, json=body, headers=analyst)
        assert refused.status_code == 403 and "customers:merge" in refused.text
    dismiss = "/api/merge-suggestions/whatever/dismiss"
    assert (await http.post(dismiss, headers=analyst)).status_code == 403
    assert (await http.get("/api/merge-suggestions", headers=analyst)).status_code == 200

    agent = {"Authorization": "Bearer " + ApiKeys(store.engine).create("al", "agent")}
    created = await http.post(split, json=moving, headers=agent)
    assert created.status_code == 201, created.text
    new = created.json()
    assert new["identities"] == [{"kind": "email", "value": address, "linked_by": None}]
    assert (new["interactions_moved"], new["conversations_moved"]) == (0, 0)
    assert (
        store.find_customer(Identity(IdentityKind.EMAIL, address))["customer_id"]
        == (  # type: ignore[index]
            new["customer_id"]
        )
    )
    with store.engine.connect() as conn:
        (body,) = conn.execute(
            select(outbound_events.c.body).where(outbound_events.c.type == "customer.split")
        ).scalars()
    assert body["data"] == {
        "customer_id": kim,
        "new_customer_id": new["customer_id"],
        "identity_kinds": ["email"],
        "interactions": 0,
        "conversations": 0,
    }
    route = "/api/customers/{customer_id}/split"
    assert [r for r in audited(store, route) if r[0] != "key:bootstrap"] == [
        ("key:ann", "analyst", 403, kim),
        ("key:al", "agent", 201, kim),
    ]


def test_the_cli_merges_and_splits_with_audit_rows(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", store.engine.url.render_as_string(False))
    phone, address = random_phone(), f"lee.{secrets.token_hex(3)}@example.com"
    lee = store.resolve_customer(Identity(IdentityKind.PHONE, phone))
    twin = store.resolve_customer(Identity(IdentityKind.EMAIL, address))
    runner = CliRunner()
    merged = runner.invoke(app, ["customers", "merge", lee, twin])
    assert merged.exit_code == 0, merged.output
    assert store.get_customer(twin)["merged_into"] == lee  # type: ignore[index]
    self_merge = runner.invoke(app, ["customers", "merge", lee, lee])
    assert self_merge.exit_code == 1 and "itself" in self_merge.output
    split = runner.invoke(app, ["customers", "split", lee, "--identity", f"email:{address}"])
    assert split.exit_code == 0, split.output
    assert store.find_customer(Identity(IdentityKind.EMAIL, address))["customer_id"] != lee  # type: ignore[index]
    bad = runner.invoke(app, ["customers", "split", lee, "--identity", "fax:1"])
    assert bad.exit_code == 2 and "kinds:" in bad.output
    rows = audited(store, "customers merge") + audited(store, "customers split")
    assert [(r[2], r[3]) for r in rows] == [(200, lee), (409, lee), (201, lee)]
    assert all(str(r[0]).startswith("cli:") for r in rows)


async def test_a_message_handed_off_across_a_merge_threads_into_the_survivors_conversation(
    client: Client, worker: Worker, store: Store, task_queue: str
) -> None:
    ana = store.resolve_customer(Identity(IdentityKind.PHONE, random_phone()))
    ben_phone = random_phone()
    ben = store.resolve_customer(Identity(IdentityKind.PHONE, ben_phone))
    # Persisted as Ben's, then Ben is merged into Ana before the hand-off signals.
    interaction, raw = sms_interaction(ben, ben_phone, datetime.now(UTC))
    interaction = replace(interaction, status=Status.PROCESSING)
    store.persist_interaction(interaction, raw)
    CustomerMerges(store.engine).merge(ana, ben, "key:desk")
    activities = ConversationActivities(
        client, ConversationStore(store.engine), task_queue, ConversationPolicy()
    )
    await ActivityEnvironment().run(
        activities.thread_interaction, HandOffInput(interaction.interaction_id, ben)
    )
    for _ in range(300):
        threaded = store.get_interaction(interaction.interaction_id)
        if threaded is not None and threaded.conversation_id:
            break
        await asyncio.sleep(0.1)
    assert threaded is not None and threaded.status is Status.COMPLETED
    conversation = ConversationStore(store.engine).get(threaded.conversation_id or "")
    assert conversation is not None
    assert (conversation["customer_id"], conversation["workflow_customer_id"]) == (ana, ana)
