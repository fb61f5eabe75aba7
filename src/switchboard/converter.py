"""How payloads go on the wire: one data converter for every client, worker and replayer.

Pydantic's JSON (Temporal's `contrib.pydantic` converter), not Temporal's default: the default
resolves a dataclass's type hints and walks it in Python on every conversion. The JSON is the
same contract either way (the dataclasses' field names and values, datetimes in ISO 8601), so
each converter reads what the other wrote and histories recorded before replay unchanged.

With a keyring, every payload is then sealed by `switchboard.codec` before it leaves the
process: Temporal (its database, its UI, `temporal workflow show`) holds ciphertext only. A
worker's converter also refuses every payload not sealed with one of its keys
(`refusing_unsealed`): what it would not open reaches the payload converter as a refusal, and
converting it raises a non-retryable `PayloadRefused` error.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    DefaultPayloadConverter,
    EncodingPayloadConverter,
    JSONPlainPayloadConverter,
)
from temporalio.exceptions import ApplicationError

from switchboard.codec import REFUSED, EncryptionCodec, Keyring

PAYLOAD_REFUSED = "PayloadRefused"

# One instance per process. The worker builds a new payload converter for every workflow it
# runs and every activation; each with its own pydantic converter would build each type's
# TypeAdapter anew (a fifth of the worker's event loop under load, py-spy) instead of once.
_JSON = PydanticJSONPlainPayloadConverter()


class _Refusal(EncodingPayloadConverter):
    """Reads what the refusing codec handed on in place of a payload: only to refuse it."""

    @property
    def encoding(self) -> str:
        return REFUSED.decode()

    def to_payload(self, value: Any) -> Payload | None:
        return None  # never writes

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        # An update's or query's caller gets this; a started workflow fails with it.
        raise ApplicationError(
            f"payload refused: {payload.data.decode(errors='replace')}; this worker accepts "
            "only payloads sealed with a key of its SWITCHBOARD_PAYLOAD_KEYS",
            type=PAYLOAD_REFUSED,
            non_retryable=True,
        )


_REFUSAL = _Refusal()


class PayloadConverter(CompositePayloadConverter):
    """Temporal's default encodings, with JSON through the shared pydantic converter."""

    def __init__(self) -> None:
        super().__init__(
            *(
                _JSON if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            ),
            _REFUSAL,
        )


def data_converter(keyring: Keyring | None) -> DataConverter:
    """The converter of a process holding `keyring`; None only where no payload is read or
    written (listing workflows), or to measure what encryption costs."""
    if keyring is None:
        return DataConverter(payload_converter_class=PayloadConverter)
    # Failure messages and stack traces go through the codec too: an error can quote input.
    return DataConverter(
        payload_converter_class=PayloadConverter,
        payload_codec=EncryptionCodec(keyring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def refusing_unsealed(converter: DataConverter) -> DataConverter:
    """`converter`, refusing every payload not sealed with one of its keys (a worker's).

    Raises:
        ValueError: the converter holds no keys, so it could tell nothing apart.
    """
    codec = converter.payload_codec
    if not isinstance(codec, EncryptionCodec):
        raise ValueError("a worker needs payload keys (SWITCHBOARD_PAYLOAD_KEYS)")
    return dataclasses.replace(converter, payload_codec=codec.refusing_unsealed())
