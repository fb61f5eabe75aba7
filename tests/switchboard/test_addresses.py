from __future__ import annotations

import pytest

from switchboard.addresses import normalize_email, normalize_phone
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
