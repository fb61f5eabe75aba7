from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from switchboard.contract import IdentityKind, MediaRef
from switchboard.errors import MalformedPayload
from switchboard.providers.twilio import parse_message
from tests.support.fixtures import load_fixture

INBOUND = load_fixture("twilio_messaging_inbound.json")


def fields(name: str) -> list[tuple[str, str]]:
    return parse_qsl(INBOUND[name]["raw_body"], keep_blank_values=True)


def test_plain_sms() -> None:
    message = parse_message(fields("inbound_sms_plain"))
    assert message.message_sid == "SM00000000000000000000000000000001"
    assert message.sender.value == "+14155550123"
    assert message.recipient is not None and message.recipient.value == "+14155550100"
    assert message.body == "Hello, is the store open today?"
    assert message.media == []


def test_emoji_body_survives() -> None:
    assert parse_message(fields("inbound_sms_emoji_ucs2")).body == "Café ☕ at 5? 👍"


def test_mms_media_are_references_in_order() -> None:
    case = INBOUND["inbound_mms_three_media"]["params"]
    message = parse_message(fields("inbound_mms_three_media"))
    assert message.media == [
        MediaRef(url=case[f"MediaUrl{n}"], content_type=case[f"MediaContentType{n}"])
        for n in range(3)
    ]


def test_mms_without_body_is_normal() -> None:
    assert parse_message(fields("inbound_mms_no_body_empty_string")).body == ""
    assert parse_message(fields("inbound_mms_no_body_param_absent")).body is None


@pytest.mark.parametrize(("drop", "reason"), [("MessageSid", "MessageSid"), ("From", "From")])
def test_required_fields(drop: str, reason: str) -> None:
    remaining = [(k, v) for k, v in fields("inbound_sms_plain") if k != drop]
    with pytest.raises(MalformedPayload, match=reason):
        parse_message(remaining)


def test_unparseable_sender_and_media_count_are_malformed() -> None:
    """A sender Twilio never sends (no number, short code or sender ID of at most 11
    characters) is malformed; a short word is an alphanumeric sender ID."""
    base = fields("inbound_sms_plain")
    with pytest.raises(MalformedPayload, match="phone"):
        parse_message([(k, "<not a sender at all>" if k == "From" else v) for k, v in base])
    sender = parse_message([(k, "nonsense" if k == "From" else v) for k, v in base]).sender
    assert (sender.kind, sender.value) == (IdentityKind.ALPHANUMERIC, "nonsense")
    with pytest.raises(MalformedPayload, match="NumMedia"):
        parse_message([(k, "three" if k == "NumMedia" else v) for k, v in base])
