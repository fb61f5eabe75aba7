from __future__ import annotations

import itertools

import pytest

from switchboard.contract import Content
from switchboard.merge import forward_status, merge_content


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
