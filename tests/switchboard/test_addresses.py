from __future__ import annotations

import pytest

from switchboard.addresses import (
    classify,
    normalize_email,
    normalize_identity,
    normalize_phone,
    normalize_sip,
)
from switchboard.contract import IdentityKind
from switchboard.errors import MalformedPayload


@pytest.mark.parametrize(
    "raw",
    [
        "+14155550123",
        "+1 (415) 555-0123",
        "415-555-0123",
        "(415) 555 0123",
        "whatsapp:+14155550123",
    ],
)
def test_us_numbers_in_any_format_are_one_e164_number(raw: str) -> None:
    assert normalize_phone(raw) == "+14155550123"


def test_international_numbers_keep_their_country() -> None:
    assert normalize_phone("+44 20 7183 8750") == "+442071838750"
    assert normalize_phone("020 7183 8750", default_region="GB") == "+442071838750"


@pytest.mark.parametrize("raw", ["", "hello", "+1", "client:tommy"])
def test_non_numbers_are_malformed(raw: str) -> None:
    with pytest.raises(MalformedPayload):
        normalize_phone(raw)


def test_email_is_case_folded() -> None:
    assert normalize_email("  Jane.Doe@Example.COM ") == "jane.doe@example.com"


@pytest.mark.parametrize("raw", ["", "jane", "@example.com", "jane@"])
def test_email_without_both_parts_is_malformed(raw: str) -> None:
    with pytest.raises(MalformedPayload):
        normalize_email(raw)


# Twilio's `From` forms (tests/fixtures/twilio_caller_ids.json has them signed, as sent).
@pytest.mark.parametrize(
    ("raw", "messaging", "kind", "value"),
    [
        ("+14155550123", False, IdentityKind.PHONE, "+14155550123"),
        ("client:agent_alice", False, IdentityKind.CLIENT, "client:agent_alice"),
        ("Client:Agent_Alice", False, IdentityKind.CLIENT, "client:Agent_Alice"),
        (
            "sip:alice@Example.COM;transport=udp",
            False,
            IdentityKind.SIP,
            "sip:alice@example.com",
        ),
        ("SIPS:Alice@example.com:5061", False, IdentityKind.SIP, "sip:Alice@example.com"),
        (
            '"Alice" <sip:alice@example.com?X-Tenant=a>',
            False,
            IdentityKind.SIP,
            "sip:alice@example.com",
        ),
        (
            "sip:1001@acme-demo.sip.twilio.com",
            False,
            IdentityKind.SIP,
            "sip:1001@acme-demo.sip.twilio.com",
        ),
        ("whatsapp:+447700900123", True, IdentityKind.PHONE, "+447700900123"),
        (
            "whatsapp:US.13491208655302741918",
            True,
            IdentityKind.WHATSAPP,
            "whatsapp:US.13491208655302741918",
        ),
        ("55599", True, IdentityKind.SHORT_CODE, "55599"),
        ("SWITCHBRD", True, IdentityKind.ALPHANUMERIC, "SWITCHBRD"),
    ],
)
def test_every_caller_form_is_an_identity_of_its_kind(
    raw: str, messaging: bool, kind: IdentityKind, value: str
) -> None:
    address = classify(raw, messaging=messaging)
    assert (address.kind, address.value) == (kind, value)
    assert address.whatsapp == raw.startswith("whatsapp:")


@pytest.mark.parametrize(
    "raw",
    [
        "Anonymous",
        "anonymous",
        "Restricted",
        "UNAVAILABLE",
        "private",
        "",
        "+266696687",
        "+7378742833",
        "+86282452253",
        "+8656696",
        "+2562533",
    ],
)
@pytest.mark.parametrize("messaging", [False, True])
def test_withheld_caller_ids_are_nobody_in_particular(raw: str, messaging: bool) -> None:
    address = classify(raw, messaging=messaging)
    assert address.withheld and address.value == ""


def test_a_caller_id_that_is_no_address_is_treated_as_withheld_on_a_call_only() -> None:
    assert classify("!!", messaging=False).withheld
    with pytest.raises(MalformedPayload, match="sender ID"):
        classify("!!", messaging=True)


@pytest.mark.parametrize("raw", ["sip:", "sip:@example.com", "sips:;transport=tcp"])
def test_sip_addresses_without_a_host_are_malformed(raw: str) -> None:
    with pytest.raises(MalformedPayload):
        normalize_sip(raw)


def test_identities_given_by_hand_normalize_as_the_webhooks_do() -> None:
    assert normalize_identity(IdentityKind.SIP, "alice@Example.com;transport=tls") == (
        "sip:alice@example.com"
    )
    assert normalize_identity(IdentityKind.CLIENT, "alice") == "client:alice"
    assert normalize_identity(IdentityKind.PHONE, "whatsapp:+14155550123") == "+14155550123"
    with pytest.raises(MalformedPayload, match="withheld"):
        normalize_identity(IdentityKind.ANONYMOUS, "CA123")
