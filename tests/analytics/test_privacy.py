"""Addresses leave the store as keyed hashes; what an analyst types finds the same hash."""

from __future__ import annotations

import pytest

from analytics.privacy import Privacy

PRIVACY = Privacy(b"test-key")


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("+447700900123", "whatsapp:+44 7700 900123"),
        ("sip:Ana@acme.example", "SIP:Ana@ACME.example;transport=udp"),
        ("sip:Ana@acme.example", "sips:Ana@acme.example:5061"),
        ("client:agent_ana", "client:agent_ana"),
        ("ana@example.com", "Ana@Example.COM"),
    ],
)
def test_the_dashboards_find_an_address_in_any_spelling_the_webhooks_normalize(
    stored: str, typed: str
) -> None:
    assert PRIVACY.address(typed) == PRIVACY.address(stored)


def test_sip_users_differ_by_case_and_withheld_callers_have_no_hash() -> None:
    assert PRIVACY.address("sip:ana@acme.example") != PRIVACY.address("sip:Ana@acme.example")
    assert PRIVACY.address("") is None
