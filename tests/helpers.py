"""Builders shared by tests: raw events and signed requests with the tests' own secrets."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from switchboard.contract import InteractionInput, Provider, RawEvent
from switchboard.simulate import SignedRequest, new_message_sid, sign_twilio, sms_fields
from tests.conftest import FIXTURE_PUBLIC_URL, FIXTURE_TOKEN

SMS_PATH = "/webhooks/twilio/sms"


def sms_raw(
    sender: str = "+14155550123", body: str = "hi", message_sid: str | None = None
) -> RawEvent:
    sid = message_sid or new_message_sid()
    return RawEvent(
        provider=Provider.TWILIO,
        kind="sms",
        event_key=sid,
        received_at=datetime.now(UTC),
        url=FIXTURE_PUBLIC_URL + SMS_PATH,
        content_type="application/x-www-form-urlencoded",
        fields=sms_fields(sid, sender, "+14155550100", body),
    )


def sms_input(**kwargs: str) -> InteractionInput:
    return InteractionInput(raw=sms_raw(**kwargs))


def signed_sms(
    sender: str = "+14155550123",
    body: str = "hello",
    message_sid: str | None = None,
    token: str = FIXTURE_TOKEN,
) -> tuple[str, SignedRequest]:
    sid = message_sid or new_message_sid()
    request = sign_twilio(
        FIXTURE_PUBLIC_URL + SMS_PATH, sms_fields(sid, sender, "+14155550100", body), token
    )
    return sid, request


def random_phone() -> str:
    return "+1415555" + f"{secrets.randbelow(10_000):04d}"
