"""Where a reply goes and when WhatsApp takes free-form text (`switchboard.replies`)."""

from __future__ import annotations

from datetime import datetime

import pytest

from switchboard.contract import Channel
from switchboard.replies import reply_address, window_open

PHONE = ("phone", "+447700900123")
EMAIL = ("email", "amelia@example.com")


@pytest.mark.parametrize(
    ("channel", "last", "identities", "expected"),
    [
        (Channel.WHATSAPP, "+447700900123", [PHONE], "+447700900123"),
        (Channel.SMS, "+447700900123", [PHONE], "+447700900123"),  # texts their WhatsApp number
        (Channel.EMAIL, "+447700900123", [PHONE, EMAIL], "amelia@example.com"),
        (Channel.SMS, "amelia@example.com", [EMAIL, PHONE], "+447700900123"),
        (Channel.EMAIL, "+447700900123", [PHONE], None),
        (Channel.VOICE, "", [("anonymous", "CA1")], None),  # a withheld caller
        (Channel.VOICE, "client:alice", [("client", "client:alice")], None),
        (Channel.SMS, "55599", [("short_code", "55599")], None),
        (
            Channel.WHATSAPP,
            "whatsapp:US.1349",
            [("whatsapp", "whatsapp:US.1349")],
            "whatsapp:US.1349",
        ),
        (Channel.PUSH, "user-9", [("push_user", "user-9")], None),
    ],
)
def test_a_reply_goes_to_the_last_address_or_the_customers_own_of_its_kind(
    channel: Channel, last: str, identities: list[tuple[str, str]], expected: str | None
) -> None:
    assert reply_address(channel, last, identities) == expected


def test_the_window_is_24_hours_after_the_customers_last_message() -> None:
    """tests/fixtures/twilio_whatsapp.json's window examples, to the second."""
    wrote = datetime.fromisoformat("2026-03-02T09:15:00Z")
    assert window_open(wrote, datetime.fromisoformat("2026-03-03T09:14:59Z"))
    assert not window_open(wrote, datetime.fromisoformat("2026-03-03T09:15:01Z"))
    assert not window_open(None, wrote)
