"""Address normalization: phone numbers to E.164, email addresses case-folded."""

from __future__ import annotations

import phonenumbers

from switchboard.errors import MalformedPayload

# Twilio prefixes non-SMS channel addresses (`whatsapp:+1415…`); the person behind it is the
# same phone number.
_CHANNEL_PREFIXES = ("whatsapp:", "sms:", "tel:")


def normalize_phone(raw: str, default_region: str = "US") -> str:
    """Return `raw` in E.164 form, or raise `MalformedPayload` if it is not a phone number.

    `default_region` applies only to numbers written without a country code. Errors never
    echo the value: it is personal data even when malformed, and errors reach API answers,
    logs and workflow failures.
    """
    value = raw.strip()
    for prefix in _CHANNEL_PREFIXES:
        if value.lower().startswith(prefix):
            value = value[len(prefix) :]
            break
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException as exc:
        raise MalformedPayload("not a phone number") from exc
    if not phonenumbers.is_possible_number(number):
        raise MalformedPayload("not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    """Return the address case-folded and trimmed; raise `MalformedPayload` if it has no `@`."""
    value = raw.strip().casefold()
    local, _, domain = value.rpartition("@")
    if not local or not domain:
        raise MalformedPayload("not an email address")
    return value


def normalize_identity(kind: str, value: str) -> str:
    """An identity's value in its normalized form: E.164 for a phone, a lower-cased address
    for an email, trimmed otherwise; MalformedPayload when it is not of its kind."""
    if kind == "phone":
        return normalize_phone(value)
    if kind == "email":
        return normalize_email(value)
    if not value.strip():
        raise MalformedPayload(f"empty {kind} identity")
    return value.strip()
