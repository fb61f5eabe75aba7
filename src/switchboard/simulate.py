"""Signed webhook traffic, made the way the providers make it, for demos, benchmarks and tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

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
