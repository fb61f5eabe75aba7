"""Address normalization: phone numbers to E.164, email addresses case-folded, and Twilio's
`From`/`To`, which is a typed address rather than a phone number, classified.

Twilio's `From` can be an E.164 number, a WhatsApp address (`whatsapp:+…`), a browser or app
(`client:alice`), a SIP URI (`sip:alice@example.com;transport=udp`), a withheld caller ID (the
word, or Twilio's keypad spelling of it: `+266696687` is ANONYMOUS), a short code or an
alphanumeric sender ID. Every one is something Twilio legitimately sends, so each has a kind of
identity of its own and none is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from switchboard.contract import IdentityKind
from switchboard.errors import MalformedPayload

# Twilio prefixes non-SMS channel addresses (`whatsapp:+1415…`); the person behind it is the
# same phone number.
_CHANNEL_PREFIXES = ("whatsapp:", "sms:", "tel:")
WHATSAPP_PREFIX = "whatsapp:"
# Withheld caller IDs: the words, and the numbers Twilio spells them as on a phone keypad
# (ANONYMOUS, RESTRICTED, UNAVAILABLE, UNKNOWN, BLOCKED). Never an identity of their own: every
# withheld caller would share it. Dialable country codes, so never texted back either.
WITHHELD_WORDS = frozenset(
    {"anonymous", "restricted", "unavailable", "unknown", "blocked", "private"}
)
WITHHELD_NUMBERS = frozenset({"+266696687", "+7378742833", "+86282452253", "+8656696", "+2562533"})
_SHORT_CODE = re.compile(r"\d{3,8}")
# Twilio's glossary: at most 11 characters, letters, digits and spaces, at least one letter.
# Carriers let a few more characters through; anything printable that short is a sender ID.
_SENDER_ID = re.compile(r"[A-Za-z0-9 +\-_&.]{1,11}")


@dataclass(frozen=True)
class Address:
    """A classified Twilio address: its kind of identity and its normalized form.

    `value` is what the interaction stores as its address, and the identity's value; empty for
    a withheld caller, whose identity is the call's own sid. `whatsapp` marks an address that
    came with Twilio's `whatsapp:` prefix.
    """

    kind: IdentityKind
    value: str
    whatsapp: bool = False

    @property
    def withheld(self) -> bool:
        return self.kind is IdentityKind.ANONYMOUS


WITHHELD = Address(IdentityKind.ANONYMOUS, "")


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


def normalize_sip(raw: str) -> str:
    """`sip:user@host`: a display name, URI parameters, headers and the port dropped.

    The scheme and host are case-insensitive and folded; the user part is case-sensitive
    (RFC 3261 19.1.4) and kept. `sips:` is the same person over TLS, so it folds to `sip:`.
    """
    value = raw.strip()
    if "<" in value and value.endswith(">"):  # `"Alice" <sip:alice@example.com>`
        value = value[value.index("<") + 1 : -1].strip()
    scheme, _, rest = value.partition(":")
    if scheme.lower() not in ("sip", "sips"):
        raise MalformedPayload("not a SIP address")
    rest = re.split(r"[;?]", rest, maxsplit=1)[0]
    user, at, host = rest.rpartition("@")
    host = host.lower()
    if host.startswith("["):  # an IPv6 literal keeps its colons
        host = host[: host.find("]") + 1] if "]" in host else host
    else:
        host = host.partition(":")[0]
    if not host or (at and not user):
        raise MalformedPayload("not a SIP address")
    return f"sip:{user}@{host}" if at else f"sip:{host}"


def normalize_client(raw: str) -> str:
    """`client:identity`: the identity an app chose, compared exactly (Twilio does)."""
    scheme, _, identity = raw.strip().partition(":")
    if scheme.lower() != "client" or not identity.strip():
        raise MalformedPayload("not a client address")
    return f"client:{identity.strip()}"


def is_withheld(raw: str) -> bool:
    value = raw.strip()
    return not value or value.casefold() in WITHHELD_WORDS or value in WITHHELD_NUMBERS


def classify(raw: str, *, messaging: bool) -> Address:
    """Classify a Twilio `From` (or `To`); raise `MalformedPayload` only for what Twilio never
    sends.

    Withheld callers come first (`+266696687` parses as a number, and `Anonymous` as a sender
    ID). `messaging`: short codes and sender IDs exist only there; on a call, a caller ID that
    is no address at all is treated as withheld, so the call is still answered and kept.
    """
    value = raw.strip()
    if is_withheld(value):
        return WITHHELD
    lowered = value.lower()
    if lowered.startswith(WHATSAPP_PREFIX):
        return _whatsapp(value[len(WHATSAPP_PREFIX) :])
    if lowered.startswith("client:"):
        return Address(IdentityKind.CLIENT, normalize_client(value))
    if lowered.startswith(("sip:", "sips:")) or (lowered.startswith('"') and "<sip" in lowered):
        return Address(IdentityKind.SIP, normalize_sip(value))
    if messaging and _SHORT_CODE.fullmatch(value):
        return Address(IdentityKind.SHORT_CODE, value)
    try:
        phone = normalize_phone(value)
    except MalformedPayload:
        pass
    else:
        return WITHHELD if phone in WITHHELD_NUMBERS else Address(IdentityKind.PHONE, phone)
    if messaging and _SENDER_ID.fullmatch(value) and any(c.isalpha() for c in value):
        return Address(IdentityKind.ALPHANUMERIC, value)
    if messaging:
        raise MalformedPayload("From is not a phone number, short code or sender ID")
    return WITHHELD


def _whatsapp(rest: str) -> Address:
    """A WhatsApp user: their phone number, or (since WhatsApp usernames) an id of its own."""
    try:
        phone = normalize_phone(rest)
    except MalformedPayload:
        user = rest.strip()
        if not user:
            raise MalformedPayload("empty WhatsApp address") from None
        return Address(IdentityKind.WHATSAPP, WHATSAPP_PREFIX + user, whatsapp=True)
    return Address(IdentityKind.PHONE, phone, whatsapp=True)


def normalize_identity(kind: IdentityKind | str, raw: str) -> str:
    """An identity's value in the form the pipeline stores it, for lookups and links by hand.

    Raises `MalformedPayload` when the value is not of its kind. A withheld caller's identity
    is never given by hand: it is the call's own, made when the call arrives.
    """
    try:
        kind = IdentityKind(kind)
    except ValueError:
        raise MalformedPayload("unknown identity kind") from None
    value = raw.strip()
    if kind is IdentityKind.ANONYMOUS:
        raise MalformedPayload("a withheld caller's identity belongs to one call and is not linked")
    if kind is IdentityKind.PHONE:
        return normalize_phone(value)
    if kind is IdentityKind.EMAIL:
        return normalize_email(value)
    if kind is IdentityKind.SIP:
        return normalize_sip(value if ":" in value else f"sip:{value}")
    if kind is IdentityKind.CLIENT:
        return normalize_client(value if value.lower().startswith("client:") else f"client:{value}")
    if kind is IdentityKind.WHATSAPP:
        address = _whatsapp(value.removeprefix(WHATSAPP_PREFIX))
        if address.kind is not IdentityKind.WHATSAPP:
            raise MalformedPayload("a WhatsApp user with a phone number is a phone identity")
        return address.value
    if not value:
        raise MalformedPayload(f"empty {kind} identity")
    return value
