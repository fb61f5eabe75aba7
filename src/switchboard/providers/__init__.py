"""Typed provider events parsed from verified webhook fields.

`PARSERS` maps (provider, webhook kind) to the parser of that kind: a new channel adds a
parser here and a route in the ingress.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from switchboard.contract import Provider
from switchboard.providers import bounds, push, sendgrid, sendgrid_inbound, twilio
from switchboard.providers.events import ProviderEvent

Parser = Callable[[Iterable[tuple[str, str]], datetime], ProviderEvent]


def _bounded(parse: Parser) -> Parser:
    def parse_within_bounds(
        fields: Iterable[tuple[str, str]], received_at: datetime
    ) -> ProviderEvent:
        return bounds.check(parse(fields, received_at))

    return parse_within_bounds


_PARSERS: dict[tuple[str, str], Parser] = {
    (Provider.TWILIO, "sms"): twilio.sms,
    (Provider.TWILIO, "sms_status"): twilio.sms_status,
    (Provider.TWILIO, "voice"): twilio.voice,
    (Provider.TWILIO, "voice_recording"): twilio.voice_recording,
    (Provider.TWILIO, "voice_transcription"): twilio.voice_transcription,
    (Provider.TWILIO, "voice_status"): twilio.voice_status,
    (Provider.PUSH, "push"): push.parse,
    (Provider.SENDGRID, "email_event"): sendgrid.parse_event,
    (Provider.SENDGRID, "email"): sendgrid_inbound.parse,
}
# Every parser's event is checked against the store's and Temporal's bounds.
PARSERS: dict[tuple[str, str], Parser] = {key: _bounded(p) for key, p in _PARSERS.items()}

__all__ = ["PARSERS", "Parser", "ProviderEvent"]
