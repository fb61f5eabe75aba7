"""WhatsApp is a channel of its own, end to end: stored, served, exported and answered as
WhatsApp, with the person behind it one customer with their SMS.

Inbound payloads are Twilio's captured WhatsApp webhooks (tests/fixtures/twilio_whatsapp.json)
re-signed for our SMS webhook, where Twilio delivers WhatsApp. Replies go through the real
twilio library to the local double of Twilio's API.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client
from temporalio.worker import Worker

from analytics import export, quality
from analytics.privacy import Privacy
from ingress.events_out import InteractionData
from runtime.simulate import sign_twilio, sms_fields
from switchboard import routing
from switchboard import search_attributes as sa
from switchboard.contract import interaction_workflow_id
from switchboard.store import Store
from switchboard.store.outbound import interaction_data
from switchboard.store.tables import interactions
from tests.support.app import Clock
from tests.support.builders import SMS_PATH, random_phone
from tests.support.fixtures import FIXTURE_PUBLIC_URL, FIXTURE_TOKEN, load_fixture
from tests.support.pipeline import interaction_result, threaded_conversation
from tests.support.provider_double import ProviderDouble, provider_double
from tests.support.replies import ACCOUNT, OUR_NUMBER, OUR_WHATSAPP, replying_worker

WHATSAPP = load_fixture("twilio_whatsapp.json")
STATUS_PATH = "/webhooks/twilio/sms/status"
TEMPLATE = "HX" + secrets.token_hex(16)


@pytest.fixture
def double() -> Iterator[ProviderDouble]:
    with provider_double() as double:
        yield double


@pytest.fixture
async def worker(
    client: Client, store: Store, task_queue: str, double: ProviderDouble
) -> AsyncIterator[Worker]:
    async with replying_worker(client, store, task_queue, double) as w:
        yield w


async def post(http: httpx.AsyncClient, path: str, fields: list[tuple[str, str]]) -> None:
    signed = sign_twilio(FIXTURE_PUBLIC_URL + path, fields, FIXTURE_TOKEN)
    response = await http.post(path, content=signed.body, headers=signed.headers)
    assert response.status_code == 200, response.text


async def whatsapp(http: httpx.AsyncClient, phone: str, case: str = "inbound_text") -> str:
    """A captured WhatsApp message from `phone` (a fresh sid), posted signed; its sid."""
    sid = "SM" + secrets.token_hex(16)
    ids = {"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid}
    sender = {"From": f"whatsapp:{phone}", "WaId": phone.removeprefix("+")}
    fields = [(k, ids.get(k, sender.get(k, v))) for k, v in WHATSAPP[case]["params"].items()]
    await post(http, SMS_PATH, fields)
    return sid


async def sms(http: httpx.AsyncClient, phone: str, text: str) -> str:
    sid = "SM" + secrets.token_hex(16)
    await post(http, SMS_PATH, sms_fields(sid, phone, OUR_NUMBER, text))
    return sid


async def test_sms_and_whatsapp_from_one_number_are_one_customer_on_two_channels(
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
    auth: dict[str, str],
    tmp_path: Path,
) -> None:
    phone = random_phone()
    texted = await sms(http, phone, "where is my parcel?")
    await threaded_conversation(client, store, "twilio", texted)
    wrote = await whatsapp(http, phone)
    await threaded_conversation(client, store, "twilio", wrote)
    message = await interaction_result(client, "twilio", wrote)
    # Engineers filter Temporal UI by the event's own channel, set when it was started.
    handle = client.get_workflow_handle(interaction_workflow_id("twilio", wrote))
    assert (await handle.describe()).typed_search_attributes.get(sa.CHANNEL) == "whatsapp"

    served = (await http.get(f"/api/interactions/{message.interaction_id}", headers=auth)).json()
    assert served["channel"] == "whatsapp"
    assert (served["from_address"], served["to_address"]) == (phone, OUR_NUMBER)
    assert served["content"]["text"] == WHATSAPP["inbound_text"]["params"]["Body"]
    [customer] = (await http.get("/api/customers", params={"phone": phone}, headers=auth)).json()[
        "items"
    ]
    assert customer["customer_id"] == message.customer_id
    assert customer["identities"] == [{"kind": "phone", "value": phone, "linked_by": None}]
    by_whatsapp = await http.get(
        "/api/customers", params={"address": f"whatsapp:{phone}"}, headers=auth
    )
    assert [c["customer_id"] for c in by_whatsapp.json()["items"]] == [message.customer_id]
    timeline = await http.get(f"/api/customers/{message.customer_id}/interactions", headers=auth)
    assert [i["channel"] for i in timeline.json()["items"]] == ["whatsapp", "sms"]
    # Events out say so too, in the shape the OpenAPI document gives subscribers.
    with store.engine.connect() as conn:
        row = (
            conn.execute(
                select(interactions).where(interactions.c.interaction_id == message.interaction_id)
            )
            .mappings()
            .one()
        )
    assert InteractionData.model_validate(interaction_data(row)).channel == "whatsapp"

    # The export partitions it under its own channel; the quality gate knows the channel.
    root = tmp_path / "exports"
    staged = export.stage(
        store.engine, root, Privacy(b"k"), routing.load().hours, datetime.now(UTC)
    )
    results = quality.validate_frames("t", quality.read_batch(staged.path, staged.partitions))
    assert quality.failures(results) == []
    export.publish(root, staged, quality.as_dicts(results))
    snapshot = export.current(root)
    assert snapshot is not None
    today = datetime.now(UTC).date()
    assert (snapshot / f"interactions/date={today}/channel=whatsapp/data.parquet").is_file()
    rows = (
        duckdb.connect()
        .execute(
            "SELECT channel, customer_id FROM read_parquet(?, hive_partitioning = true) "
            "ORDER BY channel",
            [f"{snapshot}/interactions/**/*.parquet"],
        )
        .fetchall()
    )
    assert rows == [("sms", message.customer_id), ("whatsapp", message.customer_id)]


async def test_a_reply_goes_out_on_whatsapp_from_the_whatsapp_sender_and_read_merges_back(
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
    double: ProviderDouble,
    auth: dict[str, str],
) -> None:
    phone = random_phone()
    conversation_id = await threaded_conversation(
        client, store, "twilio", await whatsapp(http, phone)
    )
    replied = await http.post(
        f"/api/conversations/{conversation_id}/reply",
        json={"text": "It ships today."},
        headers=auth,
    )
    assert replied.status_code == 200, replied.text
    [sent] = double.requests
    assert sent.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert sent.form() == {
        "To": f"whatsapp:{phone}",
        "From": OUR_WHATSAPP,
        "Body": "It ships today.",
        "StatusCallback": FIXTURE_PUBLIC_URL + STATUS_PATH,
    }
    assert replied.json()["events"][-1]["detail"]["channel"] == "whatsapp"

    outbound = store.get_interaction(replied.json()["interaction_ids"][-1])
    assert outbound is not None and outbound.channel == "whatsapp"
    assert (outbound.from_address, outbound.to_address) == (OUR_NUMBER, phone)
    # Twilio's WhatsApp status callbacks, `read` last (and once before `delivered`).
    sequence = WHATSAPP["status_callback_sequence"]
    sid = outbound.provider_message_id
    for status in ("sent", "read", "delivered"):
        params = sequence[status]["params"]
        ids = {
            "MessageSid": sid,
            "SmsSid": sid,
            "To": f"whatsapp:{phone}",
            "ChannelToAddress": phone,
        }
        await post(http, STATUS_PATH, [(k, ids.get(k, v)) for k, v in params.items()])
        await interaction_result(client, "twilio", f"{sid}:status:{status}")
    merged = store.get_interaction(outbound.interaction_id)
    assert merged is not None and merged.delivery_status == "read"
    assert merged.channel == "whatsapp" and merged.conversation_id == conversation_id

    # Named, the channel wins over the customer's last: an SMS to the same number.
    as_sms = await http.post(
        f"/api/conversations/{conversation_id}/reply",
        json={"text": "Or by text.", "channel": "sms"},
        headers=auth,
    )
    assert as_sms.status_code == 200, as_sms.text
    assert (double.requests[-1].form()["To"], double.requests[-1].form()["From"]) == (
        phone,
        OUR_NUMBER,
    )


async def test_free_form_25_hours_later_is_409_and_a_template_goes_out(
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
    double: ProviderDouble,
    auth: dict[str, str],
    clock: Clock,
) -> None:
    phone = random_phone()
    conversation_id = await threaded_conversation(
        client, store, "twilio", await whatsapp(http, phone)
    )
    path = f"/api/conversations/{conversation_id}/reply"
    clock.now += 25 * 3600  # the API's clock: a day and an hour after the customer wrote

    late = await http.post(path, json={"text": "Still there?"}, headers=auth)
    assert late.status_code == 409
    assert "24-hour" in late.json()["detail"] and phone not in late.json()["detail"]
    assert double.requests == []
    on_sms = await http.post(
        path,
        json={"channel": "sms", "template": {"content_sid": TEMPLATE, "variables": {}}},
        headers=auth,
    )
    assert on_sms.status_code == 409 and "WhatsApp only" in on_sms.json()["detail"]
    both = await http.post(
        path, json={"text": "x", "template": {"content_sid": TEMPLATE}}, headers=auth
    )
    assert both.status_code == 422

    variables = {"1": "Amelia", "2": "ORD-1042"}
    templated = await http.post(
        path, json={"template": {"content_sid": TEMPLATE, "variables": variables}}, headers=auth
    )
    assert templated.status_code == 200, templated.text
    [sent] = double.requests
    form = sent.form()
    assert (form["To"], form["From"], form["ContentSid"]) == (
        f"whatsapp:{phone}",
        OUR_WHATSAPP,
        TEMPLATE,
    )
    assert json.loads(form["ContentVariables"]) == variables
    assert "Body" not in form
    outbound = store.get_interaction(templated.json()["interaction_ids"][-1])
    assert outbound is not None and outbound.content.template_sid == TEMPLATE


async def test_nobody_without_an_address_is_answered(
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
    double: ProviderDouble,
    auth: dict[str, str],
) -> None:
    """A withheld caller, a short code, a customer with no email: 409 naming why, and nothing
    goes to Twilio's stand-in number (a real country's, that could reach a stranger)."""
    call = "CA" + secrets.token_hex(16)
    fields = [
        ("CallSid", call),
        ("From", "+266696687"),
        ("To", OUR_NUMBER),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
    ]
    await post(http, "/webhooks/twilio/voice", fields)
    withheld = await threaded_conversation(client, store, "twilio", call)
    short_code = await threaded_conversation(
        client, store, "twilio", await sms(http, "55599", "Your code is 1234")
    )
    texted = await threaded_conversation(
        client, store, "twilio", await sms(http, random_phone(), "hi")
    )
    for conversation_id, body in (
        (withheld, {"text": "hello?"}),
        (withheld, {"text": "hello?", "channel": "sms"}),
        (short_code, {"text": "thanks"}),
        (texted, {"text": "by mail", "channel": "email"}),
    ):
        refused = await http.post(
            f"/api/conversations/{conversation_id}/reply", json=body, headers=auth
        )
        assert refused.status_code == 409, refused.text
        assert "nobody to reply to" in refused.json()["detail"]
    assert double.requests == []
