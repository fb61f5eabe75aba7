"""Who did it: the actor on conversation events and in the audit log; refusals change nothing."""

from __future__ import annotations

import secrets

import httpx
from prometheus_client import REGISTRY
from temporalio.client import Client
from temporalio.worker import Worker

from runtime.simulate import sign_twilio, sms_fields
from switchboard.store import ApiKeys, Store
from tests.support.builders import random_phone
from tests.support.fixtures import FIXTURE_PUBLIC_URL, FIXTURE_TOKEN
from tests.support.pipeline import threaded_conversation


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def refusals(route: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "switchboard_auth_refusals_total", {"route": route, "reason": reason}
    )
    return value or 0.0


async def test_agent_resolve_is_attributed_and_analyst_resolve_changes_nothing(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store, auth: dict[str, str]
) -> None:
    keys = ApiKeys(store.engine)
    agent, analyst = keys.create("ana", "agent"), keys.create("otto", "analyst")
    sid = "SM" + secrets.token_hex(16)
    sms = sign_twilio(
        FIXTURE_PUBLIC_URL + "/webhooks/twilio/sms",
        sms_fields(sid, random_phone(), "+14155550100", "where is my parcel"),
        FIXTURE_TOKEN,
    )
    assert (
        await http.post("/webhooks/twilio/sms", content=sms.body, headers=sms.headers)
    ).status_code == 200
    conversation_id = await threaded_conversation(client, store, "twilio", sid)
    base = f"/api/conversations/{conversation_id}"
    route = "/api/conversations/{conversation_id}/resolve"

    forbidden_before = refusals(route, "forbidden")
    refused = await http.post(f"{base}/resolve", json={"code": "answered"}, headers=bearer(analyst))
    assert refused.status_code == 403 and "conversations:act" in refused.json()["detail"]
    assert refusals(route, "forbidden") == forbidden_before + 1
    unchanged = (await http.get(base, headers=bearer(analyst))).json()
    assert unchanged["status"] == "open"
    assert [e["kind"] for e in unchanged["events"]] == ["opened", "interaction"]

    # Assign without an agent: the caller takes it.
    assigned = await http.post(f"{base}/assign", json={}, headers=bearer(agent))
    assert assigned.status_code == 200 and assigned.json()["assignee"] == "key:ana"
    resolved = await http.post(f"{base}/resolve", json={"code": "answered"}, headers=bearer(agent))
    assert resolved.status_code == 200
    events = resolved.json()["events"]
    assert [(e["kind"], e["actor"]) for e in events] == [
        ("opened", None),
        ("interaction", None),
        ("assigned", "key:ana"),
        ("resolved", "key:ana"),
    ]

    audit = (await http.get("/api/audit", params={"actor": "key:ana"}, headers=auth)).json()[
        "items"
    ]
    assert [(a["route"], a["target"], a["status"], a["role"]) for a in audit] == [
        (route, conversation_id, 200, "agent"),
        ("/api/conversations/{conversation_id}/assign", conversation_id, 200, "agent"),
    ]
    everyone = (await http.get("/api/audit", headers=auth)).json()["items"]
    attempt = next(a for a in everyone if a["actor"] == "key:otto")
    assert (attempt["route"], attempt["status"]) == (route, 403)
    # Nothing of the customer's in the log: no bodies, addresses or text.
    assert "parcel" not in str(everyone) and "answered" not in str(everyone)
    assert (await http.get("/api/audit", headers=bearer(agent))).status_code == 403
