"""normalize: a verified provider event → the contract's terms (a local activity: CPU only)."""

from __future__ import annotations

from collections.abc import Callable

from temporalio import activity
from temporalio.exceptions import ApplicationError

from switchboard.contract import (
    MALFORMED_PAYLOAD,
    NORMALIZE,
    Channel,
    Content,
    Direction,
    Identity,
    IdentityKind,
    InteractionInput,
    NormalizedInteraction,
    Provider,
    RawEvent,
)
from switchboard.errors import MalformedPayload
from switchboard.providers.twilio import parse_message


def _twilio_sms(raw: RawEvent) -> NormalizedInteraction:
    message = parse_message(raw.fields)
    return NormalizedInteraction(
        channel=Channel.SMS,
        direction=Direction.INBOUND,
        provider=Provider.TWILIO,
        provider_message_id=message.message_sid,
        from_address=message.from_address,
        to_address=message.to_address,
        # Twilio's inbound message webhook carries no timestamp: it is sent as the message
        # arrives, so the moment we accepted it is the best record of when it occurred.
        occurred_at=raw.received_at,
        received_at=raw.received_at,
        content=Content(text=message.body, media=message.media),
        customer_identity=Identity(kind=IdentityKind.PHONE, value=message.from_address),
    )


# One parser per (provider, webhook kind): a new channel adds an entry here and a route.
NORMALIZERS: dict[tuple[str, str], Callable[[RawEvent], NormalizedInteraction]] = {
    (Provider.TWILIO, "sms"): _twilio_sms,
}


@activity.defn(name=NORMALIZE)
def normalize(inp: InteractionInput) -> NormalizedInteraction:
    """Parse the raw event; a payload that cannot be parsed fails permanently, with the reason."""
    normalizer = NORMALIZERS.get((inp.raw.provider, inp.raw.kind))
    if normalizer is None:
        raise ApplicationError(
            f"no normalizer for {inp.raw.provider}/{inp.raw.kind}",
            type=MALFORMED_PAYLOAD,
            non_retryable=True,
        )
    try:
        return normalizer(inp.raw)
    except MalformedPayload as exc:
        raise ApplicationError(str(exc), type=MALFORMED_PAYLOAD, non_retryable=True) from exc
