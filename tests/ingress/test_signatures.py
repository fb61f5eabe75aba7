"""Twilio signature verification against the signed examples (twilio 9.13.0 vectors)."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from starlette.requests import Request

from ingress.signatures import public_url, twilio_signature_valid
from tests.support.fixtures import FIXTURE_TOKEN, load_fixture

EXAMPLES = {e["name"]: e for e in load_fixture("twilio_signature_examples.json")["examples"]}
INBOUND = load_fixture("twilio_messaging_inbound.json")
POSTED = [k for k, v in INBOUND.items() if isinstance(v, dict) and v.get("method") == "POST"]


def fields_of(raw_body: str) -> list[tuple[str, str]]:
    return parse_qsl(raw_body, keep_blank_values=True)


def test_inbound_sms_example_validates() -> None:
    example = EXAMPLES["inbound_sms_form"]
    fields = fields_of(example["raw_body"])
    assert twilio_signature_valid(
        FIXTURE_TOKEN, example["url"], fields, example["X-Twilio-Signature"]
    )


@pytest.mark.parametrize(
    ("url", "valid"),
    [
        ("https://hooks.example.com:443/webhooks/twilio/sms", True),
        ("http://hooks.example.com/webhooks/twilio/sms", False),  # TLS ended at a proxy
        ("https://internal:8000/webhooks/twilio/sms", False),
        ("https://hooks.example.com/webhooks/twilio/sms/", False),
    ],
)
def test_TW_SIG_02_url_pitfalls(url: str, valid: bool) -> None:
    example = EXAMPLES["inbound_sms_form"]
    fields = fields_of(example["raw_body"])
    assert (
        twilio_signature_valid(FIXTURE_TOKEN, url, fields, example["X-Twilio-Signature"]) is valid
    )


def test_TW_SIG_03_url_with_query_string_must_be_exact() -> None:
    example = EXAMPLES["inbound_voice_form_with_query"]
    fields = fields_of(example["raw_body"])
    signature = example["X-Twilio-Signature"]
    assert twilio_signature_valid(FIXTURE_TOKEN, example["url"], fields, signature)
    reordered = "https://hooks.example.com/webhooks/twilio/voice?lang=en&tenant=acme"
    dropped = "https://hooks.example.com/webhooks/twilio/voice"
    assert not twilio_signature_valid(FIXTURE_TOKEN, reordered, fields, signature)
    assert not twilio_signature_valid(FIXTURE_TOKEN, dropped, fields, signature)


def test_TW_SIG_04_repeated_form_keys_are_all_signed() -> None:
    example = EXAMPLES["duplicate_keys_multidict"]
    fields = fields_of(example["raw_body"])
    assert fields.count(("Digits", "5678")) == 1 and fields.count(("Digits", "1234")) == 1
    assert twilio_signature_valid(
        FIXTURE_TOKEN, example["url"], fields, example["X-Twilio-Signature"]
    )
    collapsed = list(dict(fields).items())
    assert not twilio_signature_valid(
        FIXTURE_TOKEN, example["url"], collapsed, example["X-Twilio-Signature"]
    )


def test_missing_field_wrong_token_and_absent_signature_fail() -> None:
    example = EXAMPLES["inbound_sms_form"]
    fields = fields_of(example["raw_body"])
    signature = example["X-Twilio-Signature"]
    assert not twilio_signature_valid(FIXTURE_TOKEN, example["url"], fields[1:], signature)
    assert not twilio_signature_valid("another-token", example["url"], fields, signature)
    assert not twilio_signature_valid(FIXTURE_TOKEN, example["url"], fields, None)
    assert not twilio_signature_valid(FIXTURE_TOKEN, example["url"], fields, "")


@pytest.mark.parametrize("name", POSTED)
def test_TW_SIG_01_every_inbound_fixture_validates_and_tampering_fails(name: str) -> None:
    case = INBOUND[name]
    fields = fields_of(case["raw_body"])
    signature = case["headers"]["X-Twilio-Signature"]
    assert twilio_signature_valid(FIXTURE_TOKEN, case["url"], fields, signature)
    tampered = [(k, v + "x") if k == "From" else (k, v) for k, v in fields]
    assert not twilio_signature_valid(FIXTURE_TOKEN, case["url"], tampered, signature)


def _request(raw_path: bytes, query: bytes, host: str = "internal:8000") -> Request:
    return Request(
        {
            "type": "http",
            "method": "POST",
            "scheme": "http",
            "path": raw_path.decode(),
            "raw_path": raw_path,
            "query_string": query,
            "headers": [(b"host", host.encode())],
            "server": ("internal", 8000),
        }
    )


def test_TW_SIG_02_public_url_uses_configured_base_and_raw_query() -> None:
    request = _request(b"/webhooks/twilio/voice", b"tenant=acme&lang=en")
    assert (
        public_url(request, "https://hooks.example.com")
        == "https://hooks.example.com/webhooks/twilio/voice?tenant=acme&lang=en"
    )


def test_public_url_keeps_percent_encoding_as_sent() -> None:
    request = _request(b"/webhooks/twilio/sms", b"x=a%20b&y=%2B1")
    assert (
        public_url(request, "https://h.example")
        == "https://h.example/webhooks/twilio/sms?x=a%20b&y=%2B1"
    )


def test_public_url_without_setting_is_the_url_called() -> None:
    request = _request(b"/webhooks/twilio/sms", b"", host="switchboard.local:8000")
    assert public_url(request, None) == "http://switchboard.local:8000/webhooks/twilio/sms"
