"""Every caller Twilio can put through is answered and kept: withheld caller IDs, browser and app
(`client:`) and SIP callers, short codes and alphanumeric senders.

The captured payloads (tests/fixtures/twilio_caller_ids.json) are re-signed for our paths with
this module's token, with fresh sids so every test's calls are new.
"""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.worker import Worker

from runtime.simulate import sign_twilio
from switchboard.contract import CustomerInteraction, interaction_workflow_id
from switchboard.settings import IngressSettings
from switchboard.store import Store
from switchboard.store.tables import interactions
from tests.support.fixtures import FIXTURE_PUBLIC_URL, load_fixture
from tests.support.pipeline import threaded_conversation
from tests.support.settings import ingress_settings
from workflows import InteractionWorkflow

TOKEN = secrets.token_hex(16)
CALLERS = load_fixture("twilio_caller_ids.json")
VOICE = load_fixture("twilio_voice.json")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


@pytest.fixture
def settings(task_queue: str) -> IngressSettings:
    return ingress_settings(task_queue, twilio_auth_token=TOKEN)


async def post(http: httpx.AsyncClient, path: str, fields: list[tuple[str, str]]) -> httpx.Response:
    signed = sign_twilio(FIXTURE_PUBLIC_URL + path, fields, TOKEN)
    return await http.post(path, content=signed.body, headers=signed.headers)


def fresh(params: dict[str, str], **replace: str) -> list[tuple[str, str]]:
    return [(k, replace.get(k, v)) for k, v in params.items()]


async def settled(client: Client, keys: list[str]) -> None:
    for key in keys:
        handle = client.get_workflow_handle_for(
            InteractionWorkflow.run, interaction_workflow_id("twilio", key)
        )
        await asyncio.wait_for(handle.result(), timeout=60)


def stored_calls(store: Store, call_sid: str) -> list[CustomerInteraction]:
    with store.engine.connect() as conn:
        ids = conn.execute(
            select(interactions.c.interaction_id).where(
                interactions.c.provider_message_id == call_sid
            )
        ).scalars()
        found = [store.get_interaction(i) for i in ids]
    return [i for i in found if i is not None]


async def voicemail(http: httpx.AsyncClient, case: str) -> tuple[str, str]:
    """A call of the fixture `case` (fresh sids) that leaves a voicemail, every callback of it
    posted (the caller's `From` as the call had it); (call sid, recording URL)."""
    call, recording = "CA" + secrets.token_hex(16), "RE" + secrets.token_hex(16)
    caller = CALLERS[case]["params"]
    ids = {"CallSid": call, "RecordingSid": recording}
    parties = {k: caller[k] for k in ("From", "To", "Caller", "Called") if k in caller}
    response = await post(http, "/webhooks/twilio/voice", fresh(caller, CallSid=call))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Record " in response.text and "<Say>" in response.text
    url = VOICE["recording_status_completed"]["params"]["RecordingUrl"].replace(
        VOICE["recording_status_completed"]["params"]["RecordingSid"], recording
    )
    callbacks = {
        "/webhooks/twilio/voice/recording": fresh(
            VOICE["recording_status_completed"]["params"], **ids, RecordingUrl=url
        ),
        "/webhooks/twilio/voice/transcription": fresh(
            VOICE["transcription_callback"]["params"], **ids, **parties
        ),
        "/webhooks/twilio/voice/status": fresh(
            VOICE["call_status_completed"]["params"], **ids, **parties
        ),
    }
    for path, fields in callbacks.items():
        assert (await post(http, path, fields)).status_code == 200, path
    return call, url


CALLS = [
    ("voice_withheld_anonymous_placeholder", "", "anonymous"),
    ("voice_withheld_restricted_placeholder", "", "anonymous"),
    ("voice_withheld_alpha", "", "anonymous"),
    ("voice_client_sdk", "client:agent_alice", "client"),
    ("voice_sip_domain", "sip:1001@acme-demo.sip.twilio.com", "sip"),
]


@pytest.mark.parametrize(("case", "from_address", "kind"), CALLS, ids=[c[0] for c in CALLS])
async def test_every_caller_gets_a_voicemail_stored_as_one_interaction(
    case: str,
    from_address: str,
    kind: str,
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
    auth: dict[str, str],
) -> None:
    call, recording_url = await voicemail(http, case)
    await threaded_conversation(client, store, "twilio", call)
    for _ in range(100):  # the callbacks merge in as their workflows finish
        [stored] = stored_calls(store, call)
        if stored.content.audio_url and stored.content.transcript and stored.delivery_status:
            break
        await asyncio.sleep(0.1)
    assert stored.channel == "voice" and stored.direction == "inbound"
    assert stored.from_address == from_address
    assert stored.content.audio_url == recording_url
    assert stored.content.transcript
    assert stored.delivery_status == "completed"

    customer = store.get_customer(stored.customer_id)
    assert customer is not None
    identities = [(i["kind"], i["value"]) for i in customer["identities"]]
    # A withheld caller is a customer of this call alone: its identity is the call itself.
    assert identities == [(kind, call if kind == "anonymous" else from_address)]
    timeline = await http.get(f"/api/customers/{stored.customer_id}/interactions", headers=auth)
    assert [i["interaction_id"] for i in timeline.json()["items"]] == [stored.interaction_id]


async def test_two_withheld_calls_are_two_customers_never_linked(
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
    auth: dict[str, str],
) -> None:
    first, _ = await voicemail(http, "voice_withheld_anonymous_placeholder")
    second, _ = await voicemail(http, "voice_withheld_anonymous_placeholder")
    await settled(client, [first, second])
    customers = {stored_calls(store, sid)[0].customer_id for sid in (first, second)}
    assert len(customers) == 2

    # Nobody can find, or be given, a withheld caller ID: a lookup finds nobody, a link is
    # not in the schema.
    for address in ("+266696687", "Anonymous"):
        found = await http.get("/api/customers", params={"address": address}, headers=auth)
        assert (found.status_code, found.json()["items"]) == (200, [])
    linked = await http.post(
        f"/api/customers/{customers.pop()}/identities",
        json={"kind": "anonymous", "value": second},
        headers=auth,
    )
    assert linked.status_code == 422
    assert linked.headers["content-type"] == "application/problem+json"


async def test_caller_id_attestation_is_kept_with_the_call(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store
) -> None:
    call = "CA" + secrets.token_hex(16)
    params = CALLERS["voice_stir_verified_with_cnam"]["params"]
    assert (
        await post(http, "/webhooks/twilio/voice", fresh(params, CallSid=call))
    ).status_code == 200
    await settled(client, [call])
    [stored] = stored_calls(store, call)
    assert stored.content.caller_attestation == "TN-Validation-Passed-A"
    assert stored.from_address == "+14155550123"


async def test_sip_and_client_callers_are_found_by_their_address_in_any_spelling(
    http: httpx.AsyncClient, client: Client, worker: Worker, store: Store, auth: dict[str, str]
) -> None:
    sip = "sip:" + secrets.token_hex(4) + "@Acme-Demo.sip.twilio.com;transport=udp"
    user = "agent_" + secrets.token_hex(4)
    calls = []
    for caller in (sip, f"client:{user}"):
        call = "CA" + secrets.token_hex(16)
        params = CALLERS["voice_sip_domain"]["params"]
        fields = fresh(params, CallSid=call, From=caller, Caller=caller)
        assert (await post(http, "/webhooks/twilio/voice", fields)).status_code == 200
        calls.append(call)
    await settled(client, calls)
    sip_customer = stored_calls(store, calls[0])[0].customer_id
    # Scheme and host in any case, parameters of any kind: the same caller.
    for spelling in (sip.replace("sip:", "SIPS:", 1).replace("udp", "tls"), sip.split(";")[0]):
        found = await http.get("/api/customers", params={"address": spelling}, headers=auth)
        assert found.status_code == 200, found.text
        assert [c["customer_id"] for c in found.json()["items"]] == [sip_customer]
    # The user part is case-sensitive (RFC 3261): another user, whom nobody is.
    other = sip.replace("sip:", "sip:X", 1)
    nobody = await http.get("/api/customers", params={"address": other}, headers=auth)
    assert (nobody.status_code, nobody.json()["items"]) == (200, [])
    by_client = await http.get("/api/customers", params={"address": f"client:{user}"}, headers=auth)
    [client_customer] = by_client.json()["items"]
    assert client_customer["customer_id"] == stored_calls(store, calls[1])[0].customer_id


SENDERS = [
    ("sms_from_short_code", "short_code", "55599"),
    ("sms_from_alphanumeric", "alphanumeric", "SWITCHBRD"),
]


@pytest.mark.parametrize(("case", "kind", "sender"), SENDERS, ids=[s[0] for s in SENDERS])
async def test_short_codes_and_sender_ids_are_accepted_and_kept(
    case: str,
    kind: str,
    sender: str,
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
    auth: dict[str, str],
) -> None:
    sid = "SM" + secrets.token_hex(16)
    params = CALLERS[case]["params"]
    fields = fresh(params, MessageSid=sid, SmsSid=sid, SmsMessageSid=sid)
    response = await post(http, "/webhooks/twilio/sms", fields)
    assert (response.status_code, response.text) == (200, EMPTY_TWIML)
    await threaded_conversation(client, store, "twilio", sid)
    with store.engine.connect() as conn:
        (interaction_id,) = conn.execute(
            select(interactions.c.interaction_id).where(interactions.c.provider_message_id == sid)
        ).one()
    stored = (await http.get(f"/api/interactions/{interaction_id}", headers=auth)).json()
    assert (stored["channel"], stored["from_address"]) == ("sms", sender)
    assert stored["content"]["text"] == params["Body"]
    found = await http.get("/api/customers", params={"address": sender}, headers=auth)
    [customer] = found.json()["items"]
    assert customer["identities"] == [{"kind": kind, "value": sender, "linked_by": None}]
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(interactions)).scalar_one() == 1
