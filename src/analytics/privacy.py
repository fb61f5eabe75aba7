"""What leaves the store for analytics: addresses as keyed hashes, message text only if asked.

A keyed hash (HMAC-SHA256), not a bare one: phone numbers are few enough to hash them all and
look the hashes up. The dashboards hash what an analyst types with the same key to find a
customer's timeline, so the key is shared by the exporter and the dashboards: the setting
`SWITCHBOARD_EXPORT_HASH_KEY`, or else a random key kept beside the exports.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import phonenumbers

from switchboard.addresses import normalize_client, normalize_sip
from switchboard.errors import MalformedPayload

KEY_FILE = "hash.key"
E164 = re.compile(r"\+[1-9]\d{6,14}")


@dataclass(frozen=True)
class Privacy:
    key: bytes
    keep_text: bool = False

    def address(self, value: str | None) -> str | None:
        """The keyed hash of a phone number or email address, normalized first."""
        if not value:
            return None
        digest = hmac.new(self.key, normalize_address(value).encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def text(self, value: str | None) -> str | None:
        return value if self.keep_text else None


def normalize_address(value: str) -> str:
    """E.164 for a phone number (any usual spelling), lower case for an email address, a SIP
    or client address as the webhooks store it (so `sip:ana@x.com;transport=udp` is found)."""
    value = value.strip().removeprefix("whatsapp:")
    if value.lower().startswith(("sip:", "sips:", "client:")):
        try:
            return (
                normalize_sip(value) if value.lower().startswith("sip") else normalize_client(value)
            )
        except MalformedPayload:
            return value
    if "@" in value:
        return value.lower()
    if E164.fullmatch(value):  # what the store holds: already normalized, and parsing is slow
        return value
    try:
        number = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def load_key(configured: str | None, export_dir: Path) -> bytes:
    """The configured key, or the one generated on the first export and kept with them."""
    if configured:
        return configured.encode()
    path = export_dir / KEY_FILE
    if not path.exists():
        export_dir.mkdir(parents=True, exist_ok=True)
        # Exclusive create: two processes starting at once agree on one key.
        try:
            with path.open("x") as out:
                out.write(secrets.token_hex(32))
            path.chmod(0o600)
        except FileExistsError:
            pass
    return path.read_text().strip().encode()
