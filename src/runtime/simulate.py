"""Signed webhook traffic, made the way the providers make it, for demos, benchmarks and tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator


@dataclass(frozen=True)
class SignedRequest:
    url: str
    body: bytes
    headers: dict[str, str]


def new_message_sid() -> str:
    return "SM" + secrets.token_hex(16)


def sms_fields(
    message_sid: str, from_number: str, to_number: str, body: str
) -> list[tuple[str, str]]:
    """The parameters of a real inbound SMS webhook (empty geo fields included, as Twilio sends)."""
    return [
        ("ToCountry", "US"),
        ("ToState", ""),
        ("SmsMessageSid", message_sid),
        ("NumMedia", "0"),
        ("ToCity", ""),
        ("FromZip", ""),
        ("SmsSid", message_sid),
        ("FromState", ""),
        ("SmsStatus", "received"),
        ("FromCity", ""),
        ("Body", body),
        ("FromCountry", "US"),
        ("To", to_number),
        ("ToZip", ""),
        ("NumSegments", "1"),
        ("MessageSid", message_sid),
        ("AccountSid", "AC" + "0" * 32),
        ("From", from_number),
        ("ApiVersion", "2010-04-01"),
    ]


def sign_twilio(url: str, fields: list[tuple[str, str]], auth_token: str) -> SignedRequest:
    """A form POST signed with `X-Twilio-Signature`, computed by Twilio's own library."""
    params: dict[str, list[str]] = {}
    for name, value in fields:
        params.setdefault(name, []).append(value)
    signature = RequestValidator(auth_token).compute_signature(url, _MultiValues(params))
    return SignedRequest(
        url=url,
        body=urlencode(fields).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )


class _MultiValues(dict[str, list[str]]):
    """The `getlist` interface Twilio's validator uses for repeated form keys."""

    def getlist(self, name: str) -> list[str]:
        return self[name]


def sign_standard_webhook(
    secret: str, body: bytes, webhook_id: str, timestamp: int
) -> dict[str, str]:
    """Standard Webhooks headers for `body`, as a push service would send them."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }


def sendgrid_event_batch(events: list[dict[str, object]]) -> bytes:
    """SendGrid's wire format: compact JSON, events joined by ',\\r\\n', a trailing CRLF."""
    return (
        "[" + ",\r\n".join(json.dumps(e, separators=(",", ":")) for e in events) + "]\r\n"
    ).encode()


def sign_sendgrid_events(
    private_key: ec.EllipticCurvePrivateKey, body: bytes, timestamp: int
) -> dict[str, str]:
    """The Signed Event Webhook headers: ECDSA P-256 over the timestamp and the raw body."""
    signature = private_key.sign(str(timestamp).encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": str(timestamp),
    }


def public_key_b64(private_key: ec.EllipticCurvePrivateKey) -> str:
    """The public key as SendGrid shows it (base64 DER SubjectPublicKeyInfo)."""
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def inbound_parse_form(fields: list[tuple[str, str]], boundary: str) -> tuple[bytes, str]:
    """An Inbound Parse post (default mode, UTF-8 text parts): body and content type."""
    parts = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode()
        + b"\r\n"
        for name, value in fields
    )
    return parts + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
