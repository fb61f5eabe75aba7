"""`switchboard simulate traffic`: realistic multichannel traffic through the real webhooks.

For each simulated customer: an SMS thread (some of it on WhatsApp, from the same number),
sometimes a call that ends in a voicemail (the call, its recording and its transcript, callbacks
in shuffled order), an email (with an attachment, some in ISO-8859-1), push replies and the
statuses of our notifications, SendGrid events for our emails. Besides the customers: callers
with their caller ID withheld, from a browser (`client:`) and over SIP, who leave voicemails
too, and texts from a short code and an alphanumeric sender. Then the misbehaviour providers are
known for: a share of requests delivered twice, and a few malformed ones (bad signature,
garbage), which must be refused.

Every request is signed with the configured secrets, as the providers sign theirs. A channel
whose secret is not configured is left out (and said so).
"""

from __future__ import annotations

import base64
import json
import random
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_private_key
from pydantic import SecretStr

from runtime.simulate import (
    new_message_sid,
    sendgrid_event_batch,
    sign_sendgrid_events,
    sign_standard_webhook,
    sign_twilio,
    sms_fields,
)
from switchboard.settings import SimulatorSettings, UpSettings

OUR_NUMBER = "+14155550100"
ACCOUNT = "AC" + "0" * 32
RECORDINGS = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings"
SUPPORT = "support@parse.example.com"
TEXTS = [
    "Hi, my order #{n} has not arrived yet",
    "Can I change my delivery address?",
    "I was charged twice for order {n}, I need a refund",
    "Thanks, that fixed it!",
    "Is the store open on Sunday?",
    "My password reset link does not work",
    "Where is my invoice for last month?",
]
# What a customer writes when they come back to a conversation an agent resolved.
FOLLOW_UPS = [
    "Sorry, order #{n} still has not arrived",
    "The refund has not come through yet",
    "One more question about my last order",
]
TRANSCRIPTS = [
    "Hi, it's about order {n}, please call me back.",
    "Hello, I have a question about my bill, thanks.",
]


@dataclass(frozen=True)
class Secrets:
    base_url: str  # what providers call (SWITCHBOARD_PUBLIC_URL), signatures are over it
    twilio_auth_token: str | None = None
    push_webhook_secret: str | None = None
    sendgrid_inbound_auth: tuple[str, str] | None = None
    sendgrid_event_private_key: ec.EllipticCurvePrivateKey | None = None


@dataclass(frozen=True)
class Request:
    kind: str  # what it is, for the summary
    path: str
    body: bytes
    headers: dict[str, str]
    expect_refusal: bool = False


@dataclass
class Plan:
    requests: list[Request] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def secrets_from(settings: SimulatorSettings | UpSettings, base_url: str) -> Secrets:
    """The secrets the simulator signs with, from the same settings the ingress reads."""

    def reveal(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value else None

    password = reveal(settings.sendgrid_inbound_password)
    key = reveal(settings.simulator_sendgrid_private_key)
    return Secrets(
        base_url=base_url,
        twilio_auth_token=reveal(settings.twilio_auth_token),
        push_webhook_secret=reveal(settings.push_webhook_secret),
        sendgrid_inbound_auth=(
            (settings.sendgrid_inbound_user, password)
            if settings.sendgrid_inbound_user and password
            else None
        ),
        sendgrid_event_private_key=private_key_from_b64(key) if key else None,
    )


def private_key_from_b64(value: str) -> ec.EllipticCurvePrivateKey:
    key = load_der_private_key(base64.b64decode(value), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("not an EC private key")
    return key


def plan(
    customers: int,
    secrets_: Secrets,
    rng: random.Random,
    first: int = 0,
    returning: Sequence[int] = (),
    senders: bool = True,
) -> Plan:
    """Every request of the simulation, in a realistic (shuffled, duplicated) order.

    The customers are numbered from `first` (each number is one phone, one email, one push
    user), so a later plan can bring new ones; `returning`: customers of earlier plans who
    write once more (a resolved conversation of theirs reopens); `senders`: with the texts of
    a short code and a sender ID (one customer each, whichever the plan).
    """
    out = Plan()
    if secrets_.twilio_auth_token is None:
        out.skipped.append("SMS and calls (SWITCHBOARD_TWILIO_AUTH_TOKEN is not set)")
    if secrets_.sendgrid_inbound_auth is None:
        out.skipped.append("email (SWITCHBOARD_SENDGRID_INBOUND_USER/_PASSWORD are not set)")
    if secrets_.push_webhook_secret is None:
        out.skipped.append("push (SWITCHBOARD_PUSH_WEBHOOK_SECRET is not set)")
    if secrets_.sendgrid_event_private_key is None:
        out.skipped.append("SendGrid events (no SWITCHBOARD_SIMULATOR_SENDGRID_PRIVATE_KEY)")
    for i in range(first, first + customers):
        out.requests += list(_customer(i, _phone(i), f"customer{i}@example.com", secrets_, rng))
    if secrets_.twilio_auth_token:
        out.requests += list(_other_callers(customers, secrets_, rng, first, senders))
        for i in returning:
            text = rng.choice(FOLLOW_UPS).format(n=1000 + i)
            fields = sms_fields(new_message_sid(), _phone(i), OUR_NUMBER, text)
            out.requests.append(_twilio(secrets_, "sms", "/webhooks/twilio/sms", fields))
    # Providers retry and race: about one request in ten arrives twice.
    out.requests += [r for r in out.requests if rng.random() < 0.1]
    rng.shuffle(out.requests)
    out.requests += list(_malformed(secrets_))
    return out


@dataclass
class Rounds:
    """Demo traffic that goes on: plan after plan, each with new customers, and a share of
    the customers of earlier plans writing once more `later` plans on (by then an agent has
    mostly resolved their conversation, so it reopens: the demo's reopen rate).

    The same customers writing in every plan would reopen nearly every conversation.
    """

    secrets: Secrets
    rng: random.Random
    customers: int = 3
    returning: float = 0.15
    later: int = 4
    start: int = 0  # the first customer's number (another run: other customers)
    done: int = 0
    due: dict[int, list[int]] = field(default_factory=dict)

    def next(self) -> Plan:
        first = self.start + self.done * self.customers
        back = self.due.pop(self.done, [])
        for i in range(first, first + self.customers):
            if self.rng.random() < self.returning:
                self.due.setdefault(self.done + self.later, []).append(i)
        self.done += 1
        return plan(self.customers, self.secrets, self.rng, first, back, senders=self.done == 1)


def _phone(i: int) -> str:
    return f"+1415555{(3000 + i) % 10_000:04d}"


def _customer(i: int, phone: str, email: str, s: Secrets, rng: random.Random) -> Iterator[Request]:
    n = 1000 + i
    if s.twilio_auth_token:
        for _ in range(rng.randint(1, 3)):
            text = rng.choice(TEXTS).format(n=n)
            yield _twilio(
                s,
                "sms",
                "/webhooks/twilio/sms",
                sms_fields(new_message_sid(), phone, OUR_NUMBER, text),
            )
        if rng.random() < 0.4:
            yield from _voicemail(s, phone, rng.choice(TRANSCRIPTS).format(n=n), rng)
        if rng.random() < 0.4:  # the same person on WhatsApp: one customer, two channels
            sid = new_message_sid()
            fields = sms_fields(sid, phone, OUR_NUMBER, rng.choice(TEXTS).format(n=n))
            fields = [(k, f"whatsapp:{v}" if k in ("From", "To") else v) for k, v in fields] + [
                ("ProfileName", f"Customer {i}"),
                ("WaId", phone.removeprefix("+")),
            ]
            yield _twilio(s, "whatsapp", "/webhooks/twilio/sms", fields)
    if s.sendgrid_inbound_auth and rng.random() < 0.5:
        yield _email(s, email, rng.choice(TEXTS).format(n=n), latin1=rng.random() < 0.3)
    if s.push_webhook_secret and rng.random() < 0.4:
        user = f"user-{i}"
        yield _push(
            s,
            "push.replied",
            {
                "user_id": user,
                "reply_id": "rpl_" + secrets.token_hex(8),
                "reply_text": "Yes, please",
                "phone": phone,
            },
        )
        notification = "ntf_" + secrets.token_hex(8)
        for status in ("push.sent", "push.delivered", "push.opened"):
            yield _push(s, status, {"user_id": user, "notification_id": notification})
    if s.sendgrid_event_private_key and rng.random() < 0.3:
        message = f"msg{secrets.token_hex(6)}.filter0001.example"
        events = [
            {
                "email": email,
                "event": kind,
                "sg_event_id": secrets.token_hex(11),
                "sg_message_id": message,
                "timestamp": int(time.time()) - 60 + k,
            }
            for k, kind in enumerate(("processed", "delivered", "open"))
        ]
        rng.shuffle(events)
        yield _sendgrid_events(s, events)


def _twilio(s: Secrets, kind: str, path: str, fields: list[tuple[str, str]]) -> Request:
    assert s.twilio_auth_token is not None
    signed = sign_twilio(s.base_url + path, fields, s.twilio_auth_token)
    return Request(kind, path, signed.body, signed.headers)


# Callers who are not a phone number: a withheld caller ID (as the word and as Twilio's keypad
# spelling of it), a browser or app, a SIP phone; and senders nobody can text back.
OTHER_CALLERS = (
    "Anonymous",
    "+266696687",
    "client:agent_{n}",
    "sip:{n}@acme-demo.sip.twilio.com;transport=udp",
)
OTHER_SENDERS = (("55599", "Your code is {n}"), ("SWITCHBRD", "Parcel {n} is out for delivery"))


def _other_callers(
    customers: int, s: Secrets, rng: random.Random, first: int, senders: bool
) -> Iterator[Request]:
    for k in range(max(1, customers // 4)):
        n = 2000 + first + k
        caller = rng.choice(OTHER_CALLERS).format(n=n)
        yield from _voicemail(s, caller, rng.choice(TRANSCRIPTS).format(n=n), rng)
    if not senders:
        return
    for sender, text in OTHER_SENDERS:
        fields = sms_fields(new_message_sid(), sender, OUR_NUMBER, text.format(n=rng.randint(1, 9)))
        yield _twilio(s, "sms", "/webhooks/twilio/sms", fields)


def _voicemail(s: Secrets, phone: str, transcript: str, rng: random.Random) -> Iterator[Request]:
    call, recording = "CA" + secrets.token_hex(16), "RE" + secrets.token_hex(16)
    base = [
        ("AccountSid", ACCOUNT),
        ("CallSid", call),
        ("From", phone),
        ("To", OUR_NUMBER),
        ("Direction", "inbound"),
    ]
    callbacks = [
        _twilio(
            s,
            "call",
            "/webhooks/twilio/voice",
            [*base, ("CallStatus", "ringing"), ("Caller", phone), ("Called", OUR_NUMBER)],
        ),
        _twilio(
            s,
            "call",
            "/webhooks/twilio/voice/recording",
            [
                ("AccountSid", ACCOUNT),
                ("CallSid", call),
                ("RecordingSid", recording),
                (
                    "RecordingUrl",
                    f"{RECORDINGS}/{recording}",
                ),
                ("RecordingStatus", "completed"),
                ("RecordingDuration", "14"),
            ],
        ),
        _twilio(
            s,
            "call",
            "/webhooks/twilio/voice/transcription",
            [
                *base,
                ("CallStatus", "completed"),
                ("RecordingSid", recording),
                ("TranscriptionSid", "TR" + secrets.token_hex(16)),
                ("TranscriptionText", transcript),
                ("TranscriptionStatus", "completed"),
            ],
        ),
    ]
    rng.shuffle(callbacks)  # callbacks race each other
    yield from callbacks


def _email(s: Secrets, sender: str, text: str, latin1: bool) -> Request:
    assert s.sendgrid_inbound_auth is not None
    charset = "iso-8859-1" if latin1 else "utf-8"
    text = text + (" Grüße, Zoë" if latin1 else "")
    message_id = f"<{secrets.token_hex(8)}@example.com>"
    boundary = "sim" + secrets.token_hex(8)
    fields = [
        ("headers", f"Message-ID: {message_id}\nFrom: {sender}\nTo: {SUPPORT}\n"),
        ("from", sender),
        ("to", SUPPORT),
        ("subject", "Question about my order"),
        ("text", text),
        (
            "charsets",
            json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8", "text": charset}),
        ),
        # SendGrid's verdicts on mail sent the way the sender's domain authorizes.
        ("SPF", "pass"),
        ("dkim", f"{{@{sender.rpartition('@')[2].strip('>')} : pass}}"),
        ("envelope", json.dumps({"to": [SUPPORT], "from": sender})),
        ("attachments", "1"),
        (
            "attachment-info",
            json.dumps(
                {
                    "attachment1": {
                        "filename": "receipt.txt",
                        "name": "receipt.txt",
                        "type": "text/plain",
                    }
                }
            ),
        ),
    ]
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode(charset if name == "text" else "utf-8")
        + b"\r\n"
        for name, value in fields
    )
    body += (
        (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            'name="attachment1"; filename="receipt.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        + b"Receipt: order total 42.00\r\n"
        + f"--{boundary}--\r\n".encode()
    )
    user, password = s.sendgrid_inbound_auth
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Authorization": f"Basic {auth}",
    }
    return Request("email", "/webhooks/sendgrid/inbound", body, headers)


def _push(s: Secrets, event: str, data: dict[str, str]) -> Request:
    assert s.push_webhook_secret is not None
    body = json.dumps(
        {
            "type": event,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "data": data,
        }
    ).encode()
    headers = sign_standard_webhook(
        s.push_webhook_secret, body, "msg_" + secrets.token_hex(10), int(time.time())
    )
    return Request("push", "/webhooks/push", body, headers)


def _sendgrid_events(s: Secrets, events: list[dict[str, object]]) -> Request:
    assert s.sendgrid_event_private_key is not None
    body = sendgrid_event_batch(events)
    headers = sign_sendgrid_events(s.sendgrid_event_private_key, body, int(time.time()))
    return Request("email events", "/webhooks/sendgrid/events", body, headers)


def _malformed(s: Secrets) -> Iterator[Request]:
    """A few requests no provider should send: each must be refused with a 4xx."""
    if s.twilio_auth_token:
        sid = new_message_sid()
        forged = _twilio(
            s, "malformed", "/webhooks/twilio/sms", sms_fields(sid, "+14155550999", OUR_NUMBER, "x")
        )
        yield replace(
            forged, headers={**forged.headers, "X-Twilio-Signature": "forged"}, expect_refusal=True
        )
        no_sender = _twilio(s, "malformed", "/webhooks/twilio/sms", [("Body", "no sid, no sender")])
        yield replace(no_sender, expect_refusal=True)
    if s.push_webhook_secret:
        body = b'{"type": "push.replied", "data": '  # truncated JSON
        yield Request(
            "malformed",
            "/webhooks/push",
            body,
            sign_standard_webhook(s.push_webhook_secret, body, "msg_bad", int(time.time())),
            True,
        )
