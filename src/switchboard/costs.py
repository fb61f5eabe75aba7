"""What an interaction cost: the provider's own price when it reported one, else the rate card
of the routing rules file (`[rate_card]`) applied to what the provider reported.

- SMS: per segment (`NumSegments`; one when not reported), by direction;
- WhatsApp: per message, by direction;
- voice: per started minute of the call (`CallDuration`; else of its recording,
  `RecordingDuration`), by direction; a call with neither has no cost yet;
- email: per message, by direction;
- push: nothing (the push service bills no message).

Twilio's `Price` on a status callback (negative: a charge) is the cost, whatever the card says.
Amounts are in the card's `currency`, which the provider's prices are assumed to share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class RateCardError(ValueError):
    """A `[rate_card]` table that cannot be used; the message names the key."""


@dataclass(frozen=True)
class Rates:
    inbound: float = 0.0
    outbound: float = 0.0

    def of(self, direction: str) -> float:
        return self.outbound if direction == "outbound" else self.inbound


@dataclass(frozen=True)
class RateCard:
    currency: str = "USD"
    sms_segment: Rates = field(default_factory=Rates)
    whatsapp_message: Rates = field(default_factory=Rates)
    voice_minute: Rates = field(default_factory=Rates)
    email: Rates = field(default_factory=Rates)

    def cost(self, channel: str, direction: str, content: Mapping[str, Any]) -> float | None:
        """The interaction's cost (`content` as stored: the `Content` fields); None when it
        cannot be known yet (a call whose duration has not been reported)."""
        price = content.get("price")
        if price is not None:
            return abs(float(price))
        if channel == "sms":
            return (content.get("segments") or 1) * self.sms_segment.of(direction)
        if channel == "whatsapp":
            return self.whatsapp_message.of(direction)
        if channel == "email":
            return self.email.of(direction)
        if channel == "voice":
            seconds = content.get("call_duration_s")
            if seconds is None:
                seconds = content.get("recording_duration_s")
            if seconds is None:
                return None
            return math.ceil(float(seconds) / 60) * self.voice_minute.of(direction)
        return 0.0


_KEYS = {"currency", "sms_segment", "whatsapp_message", "voice_minute", "email"}


def parse(table: object) -> RateCard:
    """A `[rate_card]` table: `currency`, and for each of `sms_segment`, `whatsapp_message`,
    `voice_minute` and `email` either one price or `{inbound = …, outbound = …}`."""
    if table is None:
        return RateCard()
    if not isinstance(table, dict):
        raise RateCardError("[rate_card] must be a table")
    unknown = set(table) - _KEYS
    if unknown:
        raise RateCardError(f"[rate_card] unknown key(s) {', '.join(sorted(unknown))}")
    currency = table.get("currency", "USD")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise RateCardError("[rate_card] currency must be a three-letter code like USD")
    return RateCard(
        currency=currency.upper(),
        **{name: _rates(table.get(name), name) for name in sorted(_KEYS - {"currency"})},
    )


def _rates(value: object, name: str) -> Rates:
    if value is None:
        return Rates()
    if isinstance(value, dict):
        extra = set(value) - {"inbound", "outbound"}
        if extra:
            raise RateCardError(f"[rate_card] {name}: only inbound and outbound, not {extra}")
        return Rates(_price(value.get("inbound", 0), name), _price(value.get("outbound", 0), name))
    price = _price(value, name)
    return Rates(price, price)


def _price(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RateCardError(f"[rate_card] {name}: a price is a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise RateCardError(f"[rate_card] {name}: a price is zero or more, got {value!r}")
    return float(value)


def interaction_cost(
    card: RateCard | None, channel: str, direction: str, content: Mapping[str, Any]
) -> float | None:
    """The cost by `card`; without one, the provider's price alone (None when it gave none)."""
    if card is not None:
        return card.cost(channel, direction, content)
    price = content.get("price")
    return None if price is None else abs(float(price))
