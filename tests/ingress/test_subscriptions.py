"""Events out, end to end: subscriptions through the API, signed SMS in, signed events out.

A real receiver on 127.0.0.1 (private addresses allowed by the setting), the real ingress over
ASGI, a real Temporal dev server, the pipeline's worker and the events relay with its deliverer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import standardwebhooks
from temporalio.client import Client

from events_out.deliverer import Deliverer
from events_out.relay import EventRelay
from ingress.events_out import EVENT_MODELS
from runtime.worker import build_worker
from switchboard.contract import EventType
from switchboard.settings import IngressSettings
from switchboard.store import Store
from switchboard.store.subscriptions import SubscriptionStore
from tests.support.app import app_client
from tests.support.builders import SMS_PATH, random_phone, signed_sms
from tests.support.pipeline import threaded_conversation
from tests.support.receiver import Receiver, receiver
from tests.support.settings import ingress_settings, timeless_rules

SCHEDULE = [1.0, 1.0]


@pytest.fixture
def settings(task_queue: str) -> IngressSettings:
    return ingress_settings(
        task_queue, subscriptions_allow_private=True, event_retry_schedule_s=SCHEDULE
    )


@pytest.fixture
async def running(client: Client, store: Store, task_queue: str) -> AsyncIterator[None]:
    """The pipeline's worker and the events relay with its deliverer, as `switchboard worker`."""
    with ThreadPoolExecutor(max_workers=16) as executor:
        async with (
            httpx.AsyncClient(timeout=5.0, follow_redirects=False) as out,
            build_worker(client, store, task_queue, executor, 16, rules=timeless_rules()),
        ):
            deliverer = Deliverer(store, out, SCHEDULE, 5.0, allow_private=True)
            relay = EventRelay(SubscriptionStore(store.engine), deliverer, interval_s=0.1)
            relaying = asyncio.ensure_future(relay.run())
            yield
            relaying.cancel()
            await asyncio.gather(relaying, return_exceptions=True)


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    with receiver() as state:
        yield state


async def subscribe(
    http: httpx.AsyncClient, auth: dict[str, str], url: str, events: Any = "*", **more: Any
) -> dict[str, Any]:
    response = await http.post(
        "/api/subscriptions", json={"url": url, "events": events, **more}, headers=auth
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def send_sms(http: httpx.AsyncClient, sid: str | None = None, phone: str = "") -> str:
    sid, request = signed_sms(
        sender=phone or random_phone(), body="where is my parcel", message_sid=sid
    )
    response = await http.post(SMS_PATH, content=request.body, headers=request.headers)
    assert response.status_code == 200, response.text
    return sid


async def deliveries(
    http: httpx.AsyncClient, auth: dict[str, str], subscription_id: str
) -> list[dict[str, Any]]:
    response = await http.get(f"/api/subscriptions/{subscription_id}/deliveries", headers=auth)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["items"]
    return found


async def settled(
    http: httpx.AsyncClient, auth: dict[str, str], subscription_id: str, timeout: float = 60.0
) -> list[dict[str, Any]]:
    """The delivery log once no delivery is pending any more."""
    for _ in range(int(timeout * 10)):
        found = await deliveries(http, auth, subscription_id)
        if found and all(d["status"] != "pending" for d in found):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"deliveries still pending after {timeout} s: {found}")


async def test_sms_in_signed_events_out_and_resolve(
    http: httpx.AsyncClient,
    auth: dict[str, str],
    client: Client,
    store: Store,
    running: None,
    hooks: Receiver,
) -> None:
    sub = await subscribe(http, auth, hooks.url, ["interaction.persisted", "conversation.resolved"])
    assert sub["secret"].startswith("whsec_")
    listed = (await http.get(f"/api/subscriptions/{sub['id']}", headers=auth)).json()
    assert "secret" not in listed

    sent_at = asyncio.get_running_loop().time()
    sid = await send_sms(http)
    [persisted] = await hooks.wait_for("interaction.persisted", timeout=5.0)
    assert asyncio.get_running_loop().time() - sent_at < 5.0
    # The receiver's check, with the reference implementation of Standard Webhooks.
    verified = standardwebhooks.Webhook(sub["secret"]).verify(persisted.body, persisted.headers)
    assert verified["type"] == "interaction.persisted"
    data = verified["data"]
    assert data["provider_message_id"] == sid
    assert data["channel"] == "sms" and data["direction"] == "inbound"
    assert data["interaction_id"] and data["customer_id"]
    assert "content" not in data  # not asked for

    conversation_id = await threaded_conversation(client, store, "twilio", sid)
    resolved = await http.post(
        f"/api/conversations/{conversation_id}/resolve", json={"code": "answered"}, headers=auth
    )
    assert resolved.status_code == 200, resolved.text
    [event] = await hooks.wait_for("conversation.resolved")
    body = standardwebhooks.Webhook(sub["secret"]).verify(event.body, event.headers)
    assert body["data"]["conversation_id"] == conversation_id
    assert body["data"]["customer_id"] == data["customer_id"]
    assert body["data"]["detail"] == {"code": "answered"}
    assert isinstance(body["data"]["sequence"], int)
    # Only what was subscribed to.
    assert {r.event["type"] for r in hooks.received} == {
        "interaction.persisted",
        "conversation.resolved",
    }


async def test_500_twice_then_200_is_three_attempts_under_one_webhook_id(
    http: httpx.AsyncClient, auth: dict[str, str], running: None, hooks: Receiver
) -> None:
    hooks.answers = [500, 500]
    sub = await subscribe(http, auth, hooks.url, ["interaction.persisted"])
    await send_sms(http)
    [delivery] = await settled(http, auth, sub["id"])
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 3
    assert delivery["last_status_code"] == 200
    assert delivery["last_latency_ms"] is not None
    assert [r.answered for r in hooks.received] == [500, 500, 200]
    assert {r.headers["webhook-id"] for r in hooks.received} == {delivery["event_id"]}


async def test_410_disables_the_subscription(
    http: httpx.AsyncClient, auth: dict[str, str], running: None, hooks: Receiver
) -> None:
    hooks.answers = [410]
    sub = await subscribe(http, auth, hooks.url, ["interaction.persisted"])
    await send_sms(http)
    [delivery] = await settled(http, auth, sub["id"])
    assert delivery["status"] == "failed" and delivery["last_status_code"] == 410
    after = (await http.get(f"/api/subscriptions/{sub['id']}", headers=auth)).json()
    assert after["enabled"] is False
    assert "410" in after["disabled_reason"]
    # Nothing more is sent to it.
    await send_sms(http)
    await asyncio.sleep(1.5)
    assert len(hooks.received) == 1


async def test_dead_letter_then_replay_delivers_once(
    http: httpx.AsyncClient, auth: dict[str, str], running: None, hooks: Receiver
) -> None:
    hooks.down = 503
    hooks.headers = {"Retry-After": "1"}
    since = datetime.now(UTC) - timedelta(seconds=1)
    sub = await subscribe(http, auth, hooks.url, ["interaction.persisted"])
    await send_sms(http)
    [dead] = await settled(http, auth, sub["id"])
    assert dead["status"] == "dead"
    assert dead["attempts"] == len(SCHEDULE) + 1
    assert dead["response_excerpt"] == "ok"

    hooks.down = None  # back up
    replayed = await http.post(
        f"/api/subscriptions/{sub['id']}/replay",
        json={"since": since.isoformat()},
        headers=auth,
    )
    assert replayed.status_code == 202 and replayed.json() == {"deliveries": 1}
    [delivered] = await settled(http, auth, sub["id"])
    assert delivered["status"] == "delivered"
    assert [r.answered for r in hooks.received].count(200) == 1
    # A second replay finds nothing left to send.
    again = await http.post(
        f"/api/subscriptions/{sub['id']}/replay",
        json={"since": since.isoformat()},
        headers=auth,
    )
    assert again.json() == {"deliveries": 0}


async def test_manual_retry_of_a_failed_delivery(
    http: httpx.AsyncClient, auth: dict[str, str], running: None, hooks: Receiver
) -> None:
    hooks.answers = [400]
    sub = await subscribe(http, auth, hooks.url, ["interaction.persisted"])
    await send_sms(http)
    [failed] = await settled(http, auth, sub["id"])
    assert failed["status"] == "failed" and failed["attempts"] == 1
    retried = await http.post(
        f"/api/subscriptions/{sub['id']}/deliveries/{failed['delivery_id']}/retry", headers=auth
    )
    assert retried.status_code == 202
    [delivered] = await settled(http, auth, sub["id"])
    assert delivered["status"] == "delivered" and delivered["attempts"] == 2


async def test_duplicate_inbound_webhook_is_one_event(
    http: httpx.AsyncClient, auth: dict[str, str], running: None, hooks: Receiver
) -> None:
    sub = await subscribe(http, auth, hooks.url, ["interaction.persisted"])
    sid = await send_sms(http)
    await hooks.wait_for("interaction.persisted")
    await send_sms(http, sid=sid)  # the provider delivers the same message again
    await asyncio.sleep(1.5)
    assert len(hooks.of_type("interaction.persisted")) == 1
    assert len(await deliveries(http, auth, sub["id"])) == 1


async def test_content_only_when_asked_for(
    http: httpx.AsyncClient, auth: dict[str, str], running: None, hooks: Receiver
) -> None:
    await subscribe(http, auth, hooks.url, ["interaction.persisted"], include_content=True)
    await send_sms(http)
    [event] = await hooks.wait_for("interaction.persisted")
    assert event.event["data"]["content"]["text"] == "where is my parcel"


async def test_rotation_signs_with_both_secrets(
    http: httpx.AsyncClient, auth: dict[str, str], running: None, hooks: Receiver
) -> None:
    sub = await subscribe(http, auth, hooks.url, ["interaction.persisted"])
    rotated = await http.post(f"/api/subscriptions/{sub['id']}/rotate-secret", headers=auth)
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != sub["secret"]
    await send_sms(http)
    [event] = await hooks.wait_for("interaction.persisted")
    assert len(event.headers["webhook-signature"].split(" ")) == 2
    for secret in (sub["secret"], new_secret):
        standardwebhooks.Webhook(secret).verify(event.body, event.headers)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hooks",
        "https://127.0.0.1/hooks",
        "https://localhost/hooks",  # a name resolving to loopback
        "https://10.0.0.8/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "ftp://example.com/hooks",
        "https://[::a9fe:a9fe]/latest/meta-data",  # the metadata address, IPv4-compatible
        "https://[64:ff9b::a9fe:a9fe]/latest/meta-data",  # ... through NAT64
        "https://[2002:a9fe:a9fe::1]/hooks",  # ... through 6to4
        "https://8.8.8.8:22/hooks",  # a public address, but not https's port
    ],
)
async def test_private_or_plain_urls_are_refused_by_default(
    url: str, task_queue: str, store: Store, auth: dict[str, str]
) -> None:
    async with app_client(ingress_settings(task_queue), store=store) as http:
        response = await http.post(
            "/api/subscriptions", json={"url": url, "events": "*"}, headers=auth
        )
        assert response.status_code == 422, response.text
        assert store.engine is not None
        listed = await http.get("/api/subscriptions", headers=auth)
        assert listed.json()["items"] == []


@pytest.mark.parametrize("allow_private", [False, True])
async def test_an_invalid_port_is_422_with_its_reason(
    allow_private: bool, task_queue: str, store: Store, auth: dict[str, str]
) -> None:
    settings = ingress_settings(task_queue, subscriptions_allow_private=allow_private)
    async with app_client(settings, store=store) as http:
        for url in ("https://8.8.8.8:99999/hooks", "http://127.0.0.1:99999/hooks"):
            created = await http.post(
                "/api/subscriptions", json={"url": url, "events": "*"}, headers=auth
            )
            assert created.status_code == 422, created.text
            assert "port" in created.json()["detail"]
        assert (await http.get("/api/subscriptions", headers=auth)).json()["items"] == []


async def test_subscriptions_need_an_api_key_and_known_event_types(
    http: httpx.AsyncClient, auth: dict[str, str], hooks: Receiver
) -> None:
    assert (await http.get("/api/subscriptions")).status_code == 401
    unknown = await http.post(
        "/api/subscriptions", json={"url": hooks.url, "events": ["message.sent"]}, headers=auth
    )
    assert unknown.status_code == 422
    sub = await subscribe(http, auth, hooks.url, "*", description="crm")
    assert sub["events"] == ["*"]
    changed = await http.patch(
        f"/api/subscriptions/{sub['id']}",
        json={"events": ["sla.breached"], "enabled": False},
        headers=auth,
    )
    assert changed.json()["events"] == ["sla.breached"] and changed.json()["enabled"] is False
    assert (await http.delete(f"/api/subscriptions/{sub['id']}", headers=auth)).status_code == 204
    assert (await http.get(f"/api/subscriptions/{sub['id']}", headers=auth)).status_code == 404


async def test_conversation_changes_in_order_and_as_documented(
    http: httpx.AsyncClient,
    auth: dict[str, str],
    client: Client,
    store: Store,
    running: None,
    hooks: Receiver,
) -> None:
    await subscribe(http, auth, hooks.url, "*")
    sid = await send_sms(http)
    conversation_id = await threaded_conversation(client, store, "twilio", sid)
    for action, body in (
        ("assign", {"agent": "ada"}),
        ("resolve", {"code": "answered"}),
        ("reopen", {"reason": "customer called back"}),
    ):
        done = await http.post(
            f"/api/conversations/{conversation_id}/{action}", json=body, headers=auth
        )
        assert done.status_code == 200, done.text
    await hooks.wait_for("conversation.reopened")
    events = {r.event["type"]: r.event for r in hooks.received}
    for event_type, event in events.items():
        EVENT_MODELS[EventType(event_type)].model_validate(event)
    changes = [
        events[t]["data"]
        for t in (
            "conversation.opened",
            "conversation.assigned",
            "conversation.resolved",
            "conversation.reopened",
        )
    ]
    assert [c["conversation_id"] for c in changes] == [conversation_id] * 4
    sequences = [c["sequence"] for c in changes]
    assert sequences == sorted(sequences) and len(set(sequences)) == 4
    assert changes[0]["interaction_id"] == events["interaction.persisted"]["data"]["interaction_id"]
    assert changes[0]["provider_message_id"] == sid
    assert changes[1]["detail"] == {"agent": "ada"} and changes[1]["assignee"] == "ada"
    assert changes[3]["detail"] == {"reason": "customer called back"}
