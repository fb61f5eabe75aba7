"""A corpus of hostile requests against every webhook: each refused with its 4xx, nothing started.

For each of the nine webhooks, from one genuine request: a forged signature (or wrong
credentials), no signature, a genuine signature over a tampered body, a stale and a future
timestamp where the provider signs one, an oversized body, the wrong content type, and a
garbled payload under a valid signature; and every caller form Twilio sends (withheld caller
IDs, `client:` and `sip:` callers, short codes, sender IDs, WhatsApp) forged and tampered with.
The same caller forms, genuinely signed, are never refused. A replay of a genuine request is
not refused: providers redeliver exactly such requests, so it is answered as the original was
and starts nothing new.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass, replace
from urllib.parse import urlencode

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from temporalio.client import Client

from runtime.simulate import (
    inbound_parse_form,
    public_key_b64,
    sendgrid_event_batch,
    sign_sendgrid_events,
    sign_standard_webhook,
    sign_twilio,
    sms_fields,
)
from switchboard.settings import IngressSettings
from switchboard.store import Store
from switchboard.store.tables import interactions, raw_events
from tests.support.app import Clock
from tests.support.fixtures import FIXTURE_PUBLIC_URL, load_fixture
from tests.support.pipeline import assert_nothing_started
from tests.support.settings import ingress_settings

TOKEN = secrets.token_hex(16)
PUSH_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
EVENT_KEY = ec.generate_private_key(ec.SECP256R1())
INBOUND_AUTH = ("parse", secrets.token_urlsafe(12))
INBOUND_MAX_BYTES = 512 * 1024
STATUS = load_fixture("twilio_message_status_callbacks.json")
VOICE = load_fixture("twilio_voice.json")
CALLERS = load_fixture("twilio_caller_ids.json")
WHATSAPP = load_fixture("twilio_whatsapp.json")
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Attempt:
    webhook: str
    attack: str
    body: bytes
    headers: dict[str, str]
    expected: int


@pytest.fixture
def settings(task_queue: str) -> IngressSettings:
    return ingress_settings(
        task_queue,
        twilio_auth_token=TOKEN,
        push_webhook_secret=PUSH_SECRET,
        sendgrid_event_public_key=public_key_b64(EVENT_KEY),
        sendgrid_inbound_user=INBOUND_AUTH[0],
        sendgrid_inbound_password=INBOUND_AUTH[1],
        sendgrid_inbound_max_bytes=INBOUND_MAX_BYTES,
    )


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


# --- genuine requests, one per webhook -------------------------------------------------------


def _twilio_fields(path: str) -> list[tuple[str, str]]:
    """Fresh provider ids, so each genuine request is a new event."""
    call, recording = "CA" + secrets.token_hex(16), "RE" + secrets.token_hex(16)
    message = "SM" + secrets.token_hex(16)
    params: dict[str, dict[str, str]] = {
        "/webhooks/twilio/sms/status": STATUS["delivered"]["params"],
        "/webhooks/twilio/voice": VOICE["inbound_call"]["params"],
        "/webhooks/twilio/voice/recording": VOICE["recording_status_completed"]["params"],
        "/webhooks/twilio/voice/transcription": VOICE["transcription_callback"]["params"],
        "/webhooks/twilio/voice/status": VOICE["call_status_completed"]["params"],
    }
    if path == "/webhooks/twilio/sms":
        return sms_fields(message, "+14155550177", "+14155550100", "hello")
    fresh = {"CallSid": call, "RecordingSid": recording, "MessageSid": message, "SmsSid": message}
    return [(k, fresh.get(k, v)) for k, v in params[path].items()]


def caller_forms() -> list[tuple[str, list[tuple[str, str]]]]:
    """Genuine requests from every kind of caller and sender Twilio puts through (the captured
    payloads of twilio_caller_ids.json and twilio_whatsapp.json, fresh ids): withheld caller
    IDs, browser and SIP callers, short codes, sender IDs, WhatsApp and its `read` status."""
    out: list[tuple[str, list[tuple[str, str]]]] = []

    def add(path: str, params: dict[str, str], **change: str) -> None:
        call, message = "CA" + secrets.token_hex(16), "SM" + secrets.token_hex(16)
        fresh = {"CallSid": call, "MessageSid": message, "SmsSid": message}
        fresh |= {"SmsMessageSid": message, **change}
        out.append((path, [(k, fresh.get(k, v)) for k, v in params.items()]))

    for case in (
        "voice_withheld_anonymous_placeholder",
        "voice_withheld_restricted_placeholder",
        "voice_withheld_alpha",
        "voice_client_sdk",
        "voice_sip_domain",
        "voice_stir_failed",
    ):
        add("/webhooks/twilio/voice", CALLERS[case]["params"])
    for caller in ("+86282452253", "client:agent_alice", "sip:1001@acme-demo.sip.twilio.com"):
        parties = {"From": caller, "Caller": caller}
        add("/webhooks/twilio/voice/status", VOICE["call_status_completed"]["params"], **parties)
        add(
            "/webhooks/twilio/voice/transcription",
            VOICE["transcription_callback"]["params"],
            **parties,
        )
    for case in ("sms_from_short_code", "sms_from_alphanumeric"):
        add("/webhooks/twilio/sms", CALLERS[case]["params"])
    for case in ("inbound_text", "inbound_image", "inbound_location", "inbound_quick_reply_button"):
        add("/webhooks/twilio/sms", WHATSAPP[case]["params"])
    add("/webhooks/twilio/sms", WHATSAPP["inbound_text"]["params"], From="whatsapp:US.1349120865")
    add("/webhooks/twilio/sms/status", WHATSAPP["status_callback_sequence"]["read"]["params"])
    return out


def caller_attempts() -> list[Attempt]:
    """Each caller form forged and tampered with: refused like any other request."""
    attempts = []
    for path, fields in caller_forms():
        url = FIXTURE_PUBLIC_URL + path
        genuine = sign_twilio(url, fields, TOKEN)
        forged = sign_twilio(url, fields, "not-the-token").headers
        tampered = [(k, "client:mallory" if k == "From" else v) for k, v in fields]
        attempts += [
            Attempt(path, "forged caller form", genuine.body, forged, 403),
            Attempt(
                path, "tampered caller form", urlencode(tampered).encode(), genuine.headers, 403
            ),
        ]
    return attempts


def twilio_attempts(path: str) -> list[Attempt]:
    url = FIXTURE_PUBLIC_URL + path
    fields = _twilio_fields(path)
    genuine = sign_twilio(url, fields, TOKEN)
    signature = genuine.headers["X-Twilio-Signature"]
    padded = sign_twilio(url, [*fields, ("Padding", "x" * 70_000)], TOKEN)
    return [
        Attempt(
            path, "forged", genuine.body, sign_twilio(url, fields, "not-the-token").headers, 403
        ),
        Attempt(path, "unsigned", genuine.body, {"Content-Type": FORM}, 403),
        Attempt(
            path,
            "tampered",
            genuine.body.replace(b"%2B1415555", b"%2B1415666", 1) + b"&Extra=1",
            {"Content-Type": FORM, "X-Twilio-Signature": signature},
            403,
        ),
        Attempt(path, "oversized", padded.body, padded.headers, 413),
        Attempt(
            path,
            "wrong type",
            genuine.body,
            {**genuine.headers, "Content-Type": "application/json"},
            415,
        ),
        Attempt(
            path,
            "garbled",
            sign_twilio(url, [("Foo", "bar")], TOKEN).body,
            sign_twilio(url, [("Foo", "bar")], TOKEN).headers,
            400,
        ),
        Attempt(
            path,
            "garbled bytes",
            b"\xff\xfe\x00",
            {"Content-Type": FORM, "X-Twilio-Signature": signature},
            400,
        ),
    ]


def push_attempts(now: int) -> list[Attempt]:
    path = "/webhooks/push"
    body = json.dumps(
        {
            "type": "push.replied",
            "timestamp": "2026-11-25T10:00:00Z",
            "data": {
                "user_id": "user-9",
                "reply_id": "rpl_" + secrets.token_hex(8),
                "reply_text": "ok",
            },
        }
    ).encode()
    msg_id = "msg_" + secrets.token_hex(10)

    def signed(payload: bytes, at: int = now, secret: str = PUSH_SECRET) -> dict[str, str]:
        return sign_standard_webhook(secret, payload, msg_id, at)

    other = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    huge = body[:-1] + b', "pad": "' + b"x" * 300_000 + b'"}'
    truncated = body[:25]
    return [
        Attempt(path, "forged", body, signed(body, secret=other), 403),
        Attempt(path, "unsigned", body, {"content-type": "application/json"}, 403),
        Attempt(path, "tampered", body.replace(b"ok", b"no"), signed(body), 403),
        Attempt(path, "stale", body, signed(body, at=now - 600), 403),
        Attempt(path, "future", body, signed(body, at=now + 600), 403),
        Attempt(path, "oversized", huge, signed(huge), 413),
        Attempt(path, "wrong type", body, {**signed(body), "content-type": "text/plain"}, 415),
        Attempt(path, "garbled", truncated, signed(truncated), 400),
    ]


def sendgrid_event_attempts(now: int) -> list[Attempt]:
    path = "/webhooks/sendgrid/events"
    body = sendgrid_event_batch(
        [
            {
                "email": "someone@example.com",
                "event": "delivered",
                "sg_event_id": secrets.token_hex(11),
                "sg_message_id": f"msg{secrets.token_hex(6)}.filter0001.example",
                "timestamp": now - 30,
            }
        ]
    )
    other = ec.generate_private_key(ec.SECP256R1())
    pretty = json.dumps(json.loads(body), indent=2).encode()
    huge = body[:-3] + b',"pad":"' + b"x" * (3 * 1024 * 1024) + b'"}]'
    garbled = b"[{not json"
    return [
        Attempt(path, "forged", body, sign_sendgrid_events(other, body, now), 403),
        Attempt(path, "unsigned", body, {"Content-Type": "application/json"}, 403),
        Attempt(
            path,
            "tampered (re-serialized)",
            pretty,
            sign_sendgrid_events(EVENT_KEY, body, now),
            403,
        ),
        Attempt(path, "stale", body, sign_sendgrid_events(EVENT_KEY, body, now - 3600), 403),
        Attempt(path, "future", body, sign_sendgrid_events(EVENT_KEY, body, now + 3600), 403),
        Attempt(path, "oversized", huge, sign_sendgrid_events(EVENT_KEY, huge, now), 413),
        Attempt(
            path,
            "wrong type",
            body,
            {**sign_sendgrid_events(EVENT_KEY, body, now), "Content-Type": "text/plain"},
            415,
        ),
        Attempt(path, "garbled", garbled, sign_sendgrid_events(EVENT_KEY, garbled, now), 400),
    ]


def sendgrid_inbound_attempts() -> list[Attempt]:
    path = "/webhooks/sendgrid/inbound"
    fields = [
        ("headers", f"Message-ID: <{secrets.token_hex(8)}@example.com>\n"),
        ("from", "someone@example.com"),
        ("to", "support@parse.example.com"),
        ("subject", "Question"),
        ("text", "hello"),
    ]
    body, content_type = inbound_parse_form(fields, boundary="b" + secrets.token_hex(4))
    auth = _basic(*INBOUND_AUTH)
    huge, huge_type = inbound_parse_form(
        [*fields, ("html", "x" * (INBOUND_MAX_BYTES + 1))], boundary="big"
    )
    no_sender, no_sender_type = inbound_parse_form(
        [(k, v) for k, v in fields if k != "from"], boundary="nosender"
    )
    return [
        Attempt(
            path,
            "forged (wrong password)",
            body,
            {"Content-Type": content_type, **_basic(INBOUND_AUTH[0], "guess")},
            401,
        ),
        Attempt(path, "unsigned (no credentials)", body, {"Content-Type": content_type}, 401),
        Attempt(path, "oversized", huge, {"Content-Type": huge_type, **auth}, 413),
        Attempt(path, "wrong type", body, {"Content-Type": "application/json", **auth}, 415),
        Attempt(
            path,
            "garbled (no boundary)",
            body,
            {"Content-Type": "multipart/form-data", **auth},
            400,
        ),
        Attempt(
            path, "garbled (no sender)", no_sender, {"Content-Type": no_sender_type, **auth}, 400
        ),
        Attempt(
            path,
            "garbled (not MIME)",
            b"\x00\x01garbage",
            {"Content-Type": "multipart/form-data; boundary=x", **auth},
            400,
        ),
    ]


TWILIO_PATHS = [
    "/webhooks/twilio/sms",
    "/webhooks/twilio/sms/status",
    "/webhooks/twilio/voice",
    "/webhooks/twilio/voice/recording",
    "/webhooks/twilio/voice/transcription",
    "/webhooks/twilio/voice/status",
]


def corpus(now: int) -> list[Attempt]:
    attempts = [a for path in TWILIO_PATHS for a in twilio_attempts(path)]
    return [
        *attempts,
        *caller_attempts(),
        *push_attempts(now),
        *sendgrid_event_attempts(now),
        *sendgrid_inbound_attempts(),
    ]


def count(store: Store, table: object) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


async def test_every_hostile_request_is_refused_with_its_4xx_and_starts_nothing(
    http: httpx.AsyncClient, store: Store, client: Client, task_queue: str, clock: Clock
) -> None:
    attempts = corpus(int(clock.now))
    wrong: list[str] = []
    by_attack: Counter[str] = Counter()
    for attempt in attempts:
        response = await http.post(attempt.webhook, content=attempt.body, headers=attempt.headers)
        by_attack[attempt.attack.split(" ")[0]] += 1
        if response.status_code != attempt.expected:
            wrong.append(
                f"{attempt.webhook} {attempt.attack}: {response.status_code} "
                f"(expected {attempt.expected}) {response.text[:120]}"
            )
        elif not response.json().get("detail"):
            wrong.append(f"{attempt.webhook} {attempt.attack}: no reason given")
    webhooks = {a.webhook for a in attempts}
    print(
        f"\nhostile corpus: {len(attempts)} requests, {len(webhooks)} webhooks: {dict(by_attack)}"
    )
    assert len(webhooks) == 9
    assert wrong == []
    assert count(store, raw_events) == 0 and count(store, interactions) == 0
    await assert_nothing_started(client, task_queue)


def genuine_requests(now: int) -> list[Attempt]:
    """One genuine request per webhook: the first attempt of each corpus, correctly signed."""
    out = []
    twilio = [(path, _twilio_fields(path)) for path in TWILIO_PATHS] + caller_forms()
    for path, fields in twilio:
        signed = sign_twilio(FIXTURE_PUBLIC_URL + path, fields, TOKEN)
        out.append(Attempt(path, "genuine", signed.body, signed.headers, 200))
    push = push_attempts(now)[0]
    body = push.body
    out.append(
        Attempt(
            push.webhook,
            "genuine",
            body,
            sign_standard_webhook(PUSH_SECRET, body, "msg_" + secrets.token_hex(10), now),
            204,
        )
    )
    events = sendgrid_event_attempts(now)[0]
    out.append(
        replace(
            events,
            attack="genuine",
            headers=sign_sendgrid_events(EVENT_KEY, events.body, now),
            expected=204,
        )
    )
    inbound = sendgrid_inbound_attempts()[0]
    out.append(
        replace(
            inbound,
            attack="genuine",
            headers={"Content-Type": inbound.headers["Content-Type"], **_basic(*INBOUND_AUTH)},
            expected=200,
        )
    )
    return out


async def _counter(http: httpx.AsyncClient, name: str) -> float:
    """The sum of an ingress counter over its labels, as Prometheus would scrape it."""
    text = (await http.get("/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )


async def test_replayed_genuine_requests_are_answered_alike_and_start_nothing_new(
    http: httpx.AsyncClient, clock: Clock
) -> None:
    genuine = genuine_requests(int(clock.now))
    starts = await _counter(http, "switchboard_workflow_starts_total")
    duplicates = await _counter(http, "switchboard_duplicate_deliveries_total")
    first = [await http.post(g.webhook, content=g.body, headers=g.headers) for g in genuine]
    assert [r.status_code for r in first] == [g.expected for g in genuine]
    started = await _counter(http, "switchboard_workflow_starts_total") - starts
    assert started == len(genuine)  # one event each

    replayed = [await http.post(g.webhook, content=g.body, headers=g.headers) for g in genuine]
    assert [(r.status_code, r.content) for r in replayed] == [
        (r.status_code, r.content) for r in first
    ]
    assert await _counter(http, "switchboard_workflow_starts_total") - starts == started
    assert await _counter(http, "switchboard_duplicate_deliveries_total") - duplicates == started


def poison_attempts(now: int) -> list[tuple[Attempt, str]]:
    """Genuinely signed requests with values no provider sends, each with the field its 400
    must name."""
    out: list[tuple[Attempt, str]] = []

    def twilio(path: str, change: dict[str, str], field: str) -> None:
        fields = dict(_twilio_fields(path)) | change
        signed = sign_twilio(FIXTURE_PUBLIC_URL + path, list(fields.items()), TOKEN)
        out.append(
            (Attempt(path, f"poison {change}"[:60], signed.body, signed.headers, 400), field)
        )

    for value in ("inf", "nan", "1000000000", "-1", "11", "1e3", "٣", "9" * 5000):
        twilio("/webhooks/twilio/sms", {"NumMedia": value}, "NumMedia")
    for value in ("inf", "-nan", "-5", "1e300"):
        twilio(
            "/webhooks/twilio/voice/recording", {"RecordingDuration": value}, "RecordingDuration"
        )
    twilio("/webhooks/twilio/sms", {"MessageSid": "SM" + "a" * 300}, "event key")
    # No sender Twilio has: not a number, short code or sender ID of at most 11 characters.
    twilio("/webhooks/twilio/sms", {"From": "<script>alert(1)</script>"}, "From")
    twilio("/webhooks/twilio/sms", {"From": "whatsapp:"}, "WhatsApp")
    twilio("/webhooks/twilio/voice", {"From": "sip:" + "a" * 400 + "@x.com"}, "from address")
    twilio("/webhooks/twilio/voice", {"From": "client:" + "b" * 400}, "from address")
    twilio("/webhooks/twilio/sms/status", {"MessageStatus": "x" * 300}, "event key")
    twilio("/webhooks/twilio/voice/status", {"CallStatus": "y" * 40}, "delivery status")
    for timestamp in ("1e300", "Infinity", "-1"):
        body = sendgrid_event_attempts(now)[0].body.replace(
            str(now - 30).encode(), timestamp.encode()
        )
        headers = sign_sendgrid_events(EVENT_KEY, body, now)
        out.append(
            (Attempt("/webhooks/sendgrid/events", "poison", body, headers, 400), "timestamp")
        )
    # A lone surrogate, escaped in JSON: valid to json.loads, unencodable by everything after.
    genuine = push_attempts(now)[0].body
    lone = genuine.replace(b'"ok"', b'"\\ud800"')
    headers = sign_standard_webhook(PUSH_SECRET, lone, "msg_" + secrets.token_hex(10), now)
    out.append((Attempt("/webhooks/push", "poison surrogate", lone, headers, 400), "content.text"))
    return out


async def test_poison_values_are_400_naming_the_field_in_milliseconds(
    http: httpx.AsyncClient, store: Store, client: Client, task_queue: str, clock: Clock
) -> None:
    wrong: list[str] = []
    slowest = 0.0
    for attempt, field in poison_attempts(int(clock.now)):
        began = time.perf_counter()
        response = await http.post(attempt.webhook, content=attempt.body, headers=attempt.headers)
        slowest = max(slowest, time.perf_counter() - began)
        detail = response.json().get("detail", "") if response.status_code < 500 else ""
        if response.status_code != 400 or field not in detail:
            wrong.append(f"{attempt.webhook} {attempt.attack}: {response.status_code} {detail}")
    assert wrong == []
    assert slowest < 0.25, f"a poison value took {slowest * 1000:.0f} ms to refuse"
    assert count(store, raw_events) == 0 and count(store, interactions) == 0
    await assert_nothing_started(client, task_queue)


# What the corpus carries that is personal: its customers' numbers, address and message text.
PERSONAL = re.compile(
    r"\+?1?415555\d{4}|\+?447700900\d{3}|someone@example\.com|\bhello\b|\bQuestion\b"
    r"|agent_alice|sip:1001|SWITCHBRD|55599|mallory"
)


async def test_no_personal_data_reaches_the_logs_or_the_error_answers(
    http: httpx.AsyncClient, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """The hostile corpus and its genuine requests: no phone number, address or message text
    in the ingress's INFO log lines or in a refusal's reason."""
    caplog.set_level(logging.INFO)
    leaked: list[str] = []
    for attempt in [*corpus(int(clock.now)), *genuine_requests(int(clock.now))]:
        response = await http.post(attempt.webhook, content=attempt.body, headers=attempt.headers)
        if response.status_code >= 400 and PERSONAL.search(response.text):
            leaked.append(f"{attempt.webhook} {attempt.attack}: {response.text[:200]}")
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        if PERSONAL.search(text):
            leaked.append(f"log {record.name}: {text[:200]}")
    assert leaked == []


# Timestamps a sender may sign that no UTC clock can hold, or that only just fit.
UNREPRESENTABLE_TIMESTAMPS = [
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59.999999-00:01",
    "0001-01-01T00:00:00",
]


@pytest.mark.parametrize("timestamp", UNREPRESENTABLE_TIMESTAMPS)
async def test_a_signed_push_timestamp_no_clock_can_hold_is_accepted_never_a_5xx(
    http: httpx.AsyncClient, clock: Clock, timestamp: str
) -> None:
    """The event is kept at its receipt time: a 5xx would have the sender retry it forever."""
    body = json.dumps(
        {
            "type": "push.replied",
            "timestamp": timestamp,
            "data": {"user_id": "user-9", "reply_id": "rpl_" + secrets.token_hex(8)},
        }
    ).encode()
    headers = sign_standard_webhook(
        PUSH_SECRET, body, "msg_" + secrets.token_hex(10), int(clock.now)
    )
    response = await http.post("/webhooks/push", content=body, headers=headers)
    assert response.status_code == 204, response.text
