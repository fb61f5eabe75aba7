"""Payload encryption: AES-256-GCM over every payload before it reaches Temporal.

Temporal's documented encryption-codec pattern (samples-python `encryption/`): each payload is
serialized whole, sealed, and carried as `binary/encrypted` with the id of the key that sealed
it in its metadata. The first key of a keyring seals; every key opens, so a new key is put in
front and the old ones stay until no history still holding their payloads is needed.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
# What a refusing codec hands on in place of a payload it would not open: the payload
# converter (`switchboard.converter`) fails its conversion with the reason it carries.
REFUSED = b"binary/refused"
_NONCE_BYTES = 12


class KeyringError(ValueError):
    """A keyring that cannot be used; the message names the entry, never the key itself."""


@dataclass(frozen=True)
class Keyring:
    """Payload keys by id, the first one sealing."""

    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """`id:base64-of-32-bytes`, comma-separated, as `SWITCHBOARD_PAYLOAD_KEYS` holds them."""
        keys: list[tuple[str, bytes]] = []
        for n, entry in enumerate((e.strip() for e in text.split(",") if e.strip()), start=1):
            key_id, sep, encoded = entry.partition(":")
            try:
                key = base64.b64decode(encoded, validate=True)
            except binascii.Error:
                key = b""
            if not sep or not key_id or len(key) != 32:
                raise KeyringError(f"key {n} is not 'id:base64 of 32 bytes'")
            if any(key_id == known for known, _ in keys):
                raise KeyringError(f"key id {key_id!r} appears twice")
            keys.append((key_id, key))
        if not keys:
            raise KeyringError("no key given")
        return cls(tuple(keys))

    @staticmethod
    def new_entry(key_id: str) -> str:
        """A fresh random key in the keyring's text form."""
        return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"

    @property
    def sealing_id(self) -> str:
        return self.keys[0][0]


class EncryptionCodec(PayloadCodec):
    """Seals payloads with the keyring's first key; opens those of any key in it.

    Payloads that were never sealed (histories recorded before encryption) pass through, so
    they keep replaying, unless the codec refuses them (`refusing_unsealed`): a worker's does.
    """

    def __init__(self, keyring: Keyring, refuse_unsealed: bool = False) -> None:
        super().__init__()
        self._keyring = keyring
        self._refuse_unsealed = refuse_unsealed
        self._sealing_id = keyring.sealing_id.encode()
        self._sealer = AESGCM(keyring.keys[0][1])
        self._openers = {key_id.encode(): AESGCM(key) for key_id, key in keyring.keys}

    def refusing_unsealed(self) -> EncryptionCodec:
        """The same keys, refusing every payload not sealed by one of them.

        A workflow start, signal, update or query whose input was not sealed with a current
        key is then refused where it is converted: an update or query is rejected, a signal
        dropped, a started workflow fails before its first step. Whoever reaches Temporal
        without the keys can start, signal or update nothing.
        """
        return EncryptionCodec(self._keyring, refuse_unsealed=True)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open(p) for p in payloads]

    def seal(self, payload: Payload) -> Payload:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._sealer.encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: self._sealing_id}, data=nonce + sealed
        )

    def open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return _refused("it is not encrypted") if self._refuse_unsealed else payload
        key_id = payload.metadata.get(KEY_ID, b"")
        opener = self._openers.get(key_id)
        if opener is None:
            # Only the id, which is not secret: the operator needs it to find the key.
            shown = repr(key_id.decode(errors="replace"))
            if self._refuse_unsealed:
                return _refused(f"it was sealed with an unknown key id {shown}")
            raise ValueError(f"payload sealed with unknown key id {shown}")
        try:
            data = opener.decrypt(payload.data[:_NONCE_BYTES], payload.data[_NONCE_BYTES:], None)
        except (InvalidTag, ValueError):  # forged, truncated, or a nonce cut short
            if self._refuse_unsealed:
                return _refused("it does not open with its key")
            raise
        return Payload.FromString(data)


def _refused(reason: str) -> Payload:
    # Handed on rather than raised: raising here would fail the whole workflow activation,
    # the legitimate jobs in it too, and again on every retry.
    return Payload(metadata={"encoding": REFUSED}, data=reason.encode())
