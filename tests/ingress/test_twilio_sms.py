"""POST /webhooks/twilio/sms through the real app, a real Temporal server and the real store."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from runtime.simulate import sign_twilio, sms_fields
from switchboard import search_attributes as sa
from switchboard.contract import (
    InteractionResult,
    conversation_workflow_id,
    interaction_workflow_id,
)
from switchboard.settings import IngressSettings
from switchboard.store import Store
from switchboard.store.tables import interactions, raw_events
from tests.support.app import app_client
from tests.support.builders import SMS_PATH, random_phone, signed_sms
from tests.support.fixtures import FIXTURE_TOKEN, load_fixture
from tests.support.pipeline import assert_nothing_started, threaded_conversation
from tests.support.settings import ingress_settings
from workflows import InteractionWorkflow

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'
INBOUND = load_fixture("twilio_messaging_inbound.json")


def count(store: Store, table: object) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def handle_of(client: Client, message_sid: str) -> WorkflowHandle[Any, InteractionResult]:
    return client.get_workflow_handle_for(
        InteractionWorkflow.run, interaction_workflow_id("twilio", message_sid)
    )


async def assert_never_started(client: Client, message_sid: str) -> None:
    with pytest.raises(RPCError) as info:
        await client.get_workflow_handle(interaction_workflow_id("twilio", message_sid)).describe()
    assert info.value.status == RPCStatusCode.NOT_FOUND


async def post(http: httpx.AsyncClient, request: object) -> httpx.Response:
    return await http.post(SMS_PATH, content=request.body, headers=request.headers)  # type: ignore[attr-defined]


async def test_TW_RSP_01_signed_sms_is_acked_with_twiml_persisted_and_served_by_the_api(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store, auth: dict[str, str]
) -> None:
    sender = random_phone()
    sid, request = signed_sms(sender=sender, body="Is my refund through? 🙏")
    response = await post(http, request)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text == EMPTY_TWIML

    handle = handle_of(client, sid)
    result = await handle.result()
    attrs = (await handle.describe()).typed_search_attributes
    assert attrs.get(sa.CHANNEL) == "sms"
    assert attrs.get(sa.PROVIDER) == "twilio"
    assert attrs.get(sa.CUSTOMER_ID) == result.customer_id
    # What an engineer filters on in Temporal UI, set by the end of the run.
    assert attrs.get(sa.INTERACTION_STATUS) == "completed"
    assert attrs.get(sa.ROUTE_QUEUE)
    # The conversation it was threaded into: found by the same CustomerId, carrying its id.
    conversation_id = await threaded_conversation(client, store, "twilio", sid)
    conversation = client.get_workflow_handle(conversation_workflow_id(result.customer_id))
    for _ in range(100):  # upserted when the workflow task that stored it completes
        conversation_attrs = (await conversation.describe()).typed_search_attributes
        if conversation_attrs.get(sa.CONVERSATION_ID):
            break
        await asyncio.sleep(0.1)
    assert conversation_attrs.get(sa.CUSTOMER_ID) == result.customer_id
    assert conversation_attrs.get(sa.CONVERSATION_ID) == conversation_id

    found = await http.get("/api/customers", params={"phone": sender}, headers=auth)
    assert found.status_code == 200
    [customer] = found.json()["items"]
    customer_id = customer["customer_id"]
    assert customer_id == result.customer_id
    timeline = await http.get(f"/api/customers/{customer_id}/interactions", headers=auth)
    assert timeline.status_code == 200
    [item] = timeline.json()["items"]
    assert item["provider_message_id"] == sid
    assert item["content"]["text"] == "Is my refund through? 🙏"
    assert item["received_at"].endswith("Z") or item["received_at"].endswith("+00:00")
    one = await http.get(f"/api/interactions/{item['interaction_id']}", headers=auth)
    assert one.status_code == 200 and one.json() == item


async def test_TW_MSG_01_02_every_real_fixture_payload_is_accepted_and_stored(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store
) -> None:
    """Replays the captured payloads; two of them carry one MessageSid, so they are one message."""
    posted = [v for v in INBOUND.values() if isinstance(v, dict) and v.get("method") == "POST"]
    first_by_sid: dict[str, dict[str, Any]] = {}
    for case in posted:
        response = await http.post(
            SMS_PATH, content=case["raw_body"].encode(), headers=case["headers"]
        )
        assert response.status_code == 200, response.text
        first_by_sid.setdefault(case["params"]["MessageSid"], case)
    assert len(first_by_sid) == len(posted) - 1
    for sid, case in first_by_sid.items():
        result = await handle_of(client, sid).result()
        stored = store.get_interaction(result.interaction_id)
        assert stored is not None
        assert stored.content.text == case["params"].get("Body")
        assert len(stored.content.media) == int(case["params"]["NumMedia"])
    assert count(store, interactions) == len(first_by_sid)
    with store.engine.connect() as conn:
        archived = conn.execute(select(raw_events.c.event_key, raw_events.c.fields)).all()
    # Every field the provider sent is archived, in order, empty values included.
    assert {key: [tuple(p) for p in fields] for key, fields in archived} == {
        sid: parse_qsl(case["raw_body"], keep_blank_values=True)
        for sid, case in first_by_sid.items()
    }


async def test_sequential_and_concurrent_duplicates_leave_one_interaction(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store
) -> None:
    sid, request = signed_sms()
    first = await post(http, request)
    again = await post(http, request)
    storm = await asyncio.gather(*(post(http, request) for _ in range(5)))
    assert [r.status_code for r in (first, again, *storm)] == [200] * 7
    handle = handle_of(client, sid)
    await handle.result()
    # After completion, a late redelivery still reaches the same (closed) workflow.
    late = await post(http, request)
    assert late.status_code == 200
    runs = [wf async for wf in client.list_workflows(f"WorkflowId = '{handle.id}'")]
    assert len(runs) == 1
    assert count(store, interactions) == 1


async def test_TW_IDEM_01_five_concurrent_first_deliveries_start_one_workflow(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store
) -> None:
    sid, request = signed_sms()
    responses = await asyncio.gather(*(post(http, request) for _ in range(5)))
    assert {r.status_code for r in responses} == {200}
    handle = handle_of(client, sid)
    await handle.result()
    runs = [wf async for wf in client.list_workflows(f"WorkflowId = '{handle.id}'")]
    assert len(runs) == 1
    assert count(store, interactions) == 1


async def test_TW_SIG_01_forged_or_unsigned_requests_are_403_and_start_nothing(
    http: httpx.AsyncClient, client: Client, store: Store
) -> None:
    sid, good = signed_sms()
    forged_headers = {**good.headers, "X-Twilio-Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}
    unsigned = {k: v for k, v in good.headers.items() if k != "X-Twilio-Signature"}
    _, other_token = signed_sms(message_sid=sid, token=secrets.token_hex(16))
    tampered = good.body.replace(b"hello", b"HELLO")
    for body, headers in [
        (good.body, forged_headers),
        (good.body, unsigned),
        (other_token.body, other_token.headers),
        (tampered, good.headers),
    ]:
        response = await http.post(SMS_PATH, content=body, headers=headers)
        assert response.status_code == 403
        assert "X-Twilio-Signature" in response.json()["detail"]
    await assert_never_started(client, sid)
    assert count(store, raw_events) == 0 and count(store, interactions) == 0


async def test_TW_SIG_02_03_signature_is_checked_over_the_public_url_not_the_internal_one(
    client: Client, store: Store, task_queue: str
) -> None:
    """Behind a proxy the request arrives as http://internal…; Twilio signed the public URL."""
    token = secrets.token_hex(16)
    settings = ingress_settings(
        task_queue,
        public_url="https://sb.example.org/",
        twilio_auth_token=token,
        allowed_hosts="internal",  # the proxy passes its own Host on
    )
    fields = sms_fields("SM" + secrets.token_hex(16), random_phone(), "+14155550100", "hi")
    public = sign_twilio("https://sb.example.org/webhooks/twilio/sms?tenant=b&x=1", fields, token)
    internal = sign_twilio("http://internal/webhooks/twilio/sms?tenant=b&x=1", fields, token)
    async with app_client(settings, client, store, base_url="http://internal") as http:
        path = "/webhooks/twilio/sms?tenant=b&x=1"
        ok = await http.post(path, content=public.body, headers=public.headers)
        bad = await http.post(path, content=internal.body, headers=internal.headers)
        reordered = await http.post(
            "/webhooks/twilio/sms?x=1&tenant=b", content=public.body, headers=public.headers
        )
    assert (ok.status_code, bad.status_code, reordered.status_code) == (200, 403, 403)


@pytest.mark.parametrize(("drop", "reason"), [("MessageSid", "MessageSid"), ("From", "From")])
async def test_malformed_message_is_400_with_reason_and_starts_nothing(
    drop: str, reason: str, http: httpx.AsyncClient, client: Client, store: Store
) -> None:
    sid = "SM" + secrets.token_hex(16)
    fields = [(k, v) for k, v in sms_fields(sid, random_phone(), "+14155550100", "x") if k != drop]
    request = sign_twilio("https://hooks.example.com" + SMS_PATH, fields, FIXTURE_TOKEN)
    response = await post(http, request)
    assert response.status_code == 400
    assert reason in response.json()["detail"]
    await assert_never_started(client, sid)
    assert count(store, raw_events) == 0


async def test_wrong_content_type_and_oversized_bodies_are_refused(
    http: httpx.AsyncClient, store: Store, client: Client, task_queue: str
) -> None:
    _, request = signed_sms()
    as_json = await http.post(
        SMS_PATH,
        content=b'{"MessageSid": "SM1"}',
        headers={**request.headers, "Content-Type": "application/json"},
    )
    assert as_json.status_code == 415
    huge = await http.post(SMS_PATH, content=b"Body=" + b"x" * (65 * 1024), headers=request.headers)
    assert huge.status_code == 413
    assert count(store, raw_events) == 0
    await assert_nothing_started(client, task_queue)


async def test_temporal_unreachable_is_503_with_retry_after(
    store: Store, task_queue: str, client: Client
) -> None:
    # A port nothing listens on: the lazy client cannot reach Temporal.
    settings: IngressSettings = ingress_settings(
        task_queue, temporal_address="127.0.0.1:1", temporal_start_timeout_s=1.0
    )
    _, request = signed_sms()
    async with app_client(settings, store=store) as http:
        response = await post(http, request)
        ready = await http.get("/readyz")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert ready.status_code == 503 and ready.json()["store"] == "ok"
    assert count(store, raw_events) == 0
    await assert_nothing_started(client, task_queue)


async def test_TW_SIG_05_values_are_verified_and_kept_untrimmed(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store
) -> None:
    sid, request = signed_sms(body="  spaced out \n\t ")
    assert (await post(http, request)).status_code == 200
    result = await handle_of(client, sid).result()
    stored = store.get_interaction(result.interaction_id)
    assert stored is not None and stored.content.text == "  spaced out \n\t "


async def test_TW_SIG_06_json_bodies_are_refused_without_crashing(
    http: httpx.AsyncClient, store: Store, client: Client, task_queue: str
) -> None:
    """Messaging and Voice webhooks are form-encoded; a JSON body is not one of them."""
    example = load_fixture("twilio_signature_examples.json")["examples"][2]
    for path in [SMS_PATH, SMS_PATH + "?bodySHA256=" + example["bodySHA256"]]:
        response = await http.post(
            path,
            content=example["raw_body"].encode(),
            headers={
                "Content-Type": "application/json",
                "X-Twilio-Signature": example["X-Twilio-Signature"],
            },
        )
        assert response.status_code == 415
    assert count(store, raw_events) == 0
    await assert_nothing_started(client, task_queue)


async def test_TW_SIG_08_old_and_new_token_both_verify_during_a_rotation(
    client: Client, worker: Worker, store: Store, task_queue: str
) -> None:
    old, new = secrets.token_hex(16), secrets.token_hex(16)
    settings = ingress_settings(task_queue, twilio_auth_token=f"{old},{new}")
    async with app_client(settings, client, store) as http:
        statuses = []
        for token in (old, new, secrets.token_hex(16)):
            _, request = signed_sms(token=token)
            statuses.append((await post(http, request)).status_code)
    assert statuses == [200, 200, 403]


async def test_TW_SIG_07_shared_key_signatures_use_the_named_key_and_algorithm(
    client: Client, worker: Worker, store: Store, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    examples = {e["name"]: e for e in load_fixture("twilio_signature_examples.json")["examples"]}
    shared, form = examples["sharedkey_hmac_sha256_beta"], examples["inbound_sms_form"]
    key_id = shared["X-Twilio-Webhooks-Signature-Settings"].split(",")[0].removeprefix("key=")
    monkeypatch.setenv("SWITCHBOARD_TWILIO_SHARED_KEYS", json.dumps({key_id: shared["secret"]}))
    settings = ingress_settings(task_queue)
    assert settings.twilio_shared_keys[key_id].get_secret_value() == shared["secret"]

    base = {"Content-Type": "application/x-www-form-urlencoded"}
    cases = [
        # (signature, settings header, expected status)
        (shared["X-Twilio-Signature"], shared["X-Twilio-Webhooks-Signature-Settings"], 200),
        (form["X-Twilio-Signature"], shared["X-Twilio-Webhooks-Signature-Settings"], 403),
        (shared["X-Twilio-Signature"], "key=unknown_key,algorithm=HMAC_SHA256", 403),
        (shared["X-Twilio-Signature"], f"key={key_id},algorithm=HMAC_SHA512", 403),
        (shared["X-Twilio-Signature"], None, 403),  # without the header: the auth token's HMAC-SHA1
    ]
    async with app_client(settings, client, store) as http:
        statuses = []
        for signature, settings_header, _ in cases:
            headers = {**base, "X-Twilio-Signature": signature}
            if settings_header:
                headers["X-Twilio-Webhooks-Signature-Settings"] = settings_header
            response = await http.post(SMS_PATH, content=form["raw_body"].encode(), headers=headers)
            statuses.append(response.status_code)
    assert statuses == [expected for *_, expected in cases]


async def test_TW_IDEM_02_idempotency_token_is_archived_and_a_retry_is_the_same_200(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store
) -> None:
    sid, request = signed_sms()
    headers = {**request.headers, "I-Twilio-Idempotency-Token": "tok-" + sid}
    first = await http.post(SMS_PATH, content=request.body, headers=headers)
    retry = await http.post(SMS_PATH, content=request.body, headers=headers)
    assert (first.status_code, first.text) == (retry.status_code, retry.text) == (200, EMPTY_TWIML)
    await handle_of(client, sid).result()
    with store.engine.connect() as conn:
        [archived] = conn.execute(select(raw_events.c.headers)).scalars().all()
    assert dict(map(tuple, archived))["i-twilio-idempotency-token"] == "tok-" + sid
    assert count(store, interactions) == 1
