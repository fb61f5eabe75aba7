"""How payloads go on the wire: one data converter for every client, worker and replayer.

Pydantic's JSON (Temporal's `contrib.pydantic` converter), not Temporal's default: the default
resolves a dataclass's type hints and walks it in Python on every conversion. The JSON is the
same contract either way (the dataclasses' field names and values, datetimes in ISO 8601), so
each converter reads what the other wrote and histories recorded before replay unchanged.

With a keyring, every payload is then sealed by `switchboard.codec` before it leaves the
process: Temporal (its database, its UI, `temporal workflow show`) holds ciphertext only.
"""

from __future__ import annotations

from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)

from switchboard.codec import EncryptionCodec, Keyring

# One instance per process. The worker builds a new payload converter for every workflow it
# runs and every activation; each with its own pydantic converter would build each type's
# TypeAdapter anew (a fifth of the worker's event loop under load, py-spy) instead of once.
_JSON = PydanticJSONPlainPayloadConverter()


class PayloadConverter(CompositePayloadConverter):
    """Temporal's default encodings, with JSON through the shared pydantic converter."""

    def __init__(self) -> None:
        super().__init__(
            *(
                _JSON if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
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
