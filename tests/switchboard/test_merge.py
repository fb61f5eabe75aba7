from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from switchboard.contract import Channel, Content
from switchboard.merge import forward_status, merge_content, rederive_interaction
from tests.support.builders import sms_interaction


@pytest.mark.parametrize(
    ("channel", "events", "final"),
    [
        ("sms", ["sent", "delivered"], "delivered"),
        ("sms", ["queued", "sending", "sent", "failed"], "failed"),
        ("sms", ["delivered", "read"], "read"),
        ("voice", ["ringing", "in-progress", "completed"], "completed"),
        ("voice", ["ringing", "no-answer"], "no-answer"),
        ("email", ["processed", "delivered", "open", "click"], "click"),
        ("push", ["sent", "delivered", "opened"], "opened"),
    ],
)
def test_status_ends_at_the_furthest_whatever_the_order(
    channel: str, events: list[str], final: str
) -> None:
    for order in itertools.permutations(events):
        status = None
        for event in order:
            status = forward_status(channel, status, event)
        # Terminal states share a rank, so the first to arrive stands; here there is one.
        assert status == final, order


def test_unknown_status_is_kept_only_when_nothing_is_known() -> None:
    assert forward_status("sms", None, "brand_new") == "brand_new"
    assert forward_status("sms", "sent", "brand_new") == "sent"
    assert forward_status("sms", "brand_new", "sent") == "sent"
    assert forward_status("sms", "sent", None) == "sent"


def test_content_fills_in_and_never_overwrites() -> None:
    stored = Content(text="hi", audio_url=None, transcript=None)
    merged = merge_content(stored, Content(text="other", audio_url="https://a", transcript="t"))
    assert merged == Content(text="hi", audio_url="https://a", transcript="t")
    assert merge_content(merged, Content()) == merged


def test_reprocessing_moves_a_whatsapp_message_stored_as_sms_to_its_channel() -> None:
    """Before WhatsApp was a channel its messages were stored as SMS; re-deriving the message's
    own event corrects that, a later callback's event never changes the channel."""
    stored, _ = sms_interaction("c1", "+447700900123", datetime(2026, 3, 2, 9, tzinfo=UTC))
    again = replace(stored, channel=Channel.WHATSAPP, interaction_id="new")
    assert rederive_interaction(stored, again).channel is Channel.WHATSAPP
    callback = replace(again, received_at=stored.received_at + timedelta(minutes=1))
    assert rederive_interaction(stored, callback).channel is Channel.SMS
