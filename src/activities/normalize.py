"""normalize: a verified provider event → the contract's terms (a local activity: CPU only)."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from switchboard.contract import (
    MALFORMED_PAYLOAD,
    NORMALIZE,
    InteractionInput,
    NormalizedInteraction,
)
from switchboard.errors import MalformedPayload
from switchboard.providers import PARSERS


@activity.defn(name=NORMALIZE)
def normalize(inp: InteractionInput) -> NormalizedInteraction:
    """Parse the raw event; a payload that cannot be parsed fails permanently, with the reason."""
    parser = PARSERS.get((inp.raw.provider, inp.raw.kind))
    if parser is None:
        raise ApplicationError(
            f"no parser for {inp.raw.provider}/{inp.raw.kind}",
            type=MALFORMED_PAYLOAD,
            non_retryable=True,
        )
    try:
        return parser(inp.raw.fields, inp.raw.received_at).interaction
    except MalformedPayload as exc:
        raise ApplicationError(str(exc), type=MALFORMED_PAYLOAD, non_retryable=True) from exc
