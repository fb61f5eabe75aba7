"""What an agent's reply may be, and where it goes: one definition, read by the API (which
answers 409 before anything enters the conversation's history) and by the reply activity (the
last guard, should anything change in between).

- **Where**: the address the customer last wrote from, when it suits the channel; else their
  own identity of the kind the channel needs (a reply by SMS to someone who emailed). A withheld
  caller, a short code or a sender ID has no address anyone can answer.
- **WhatsApp's customer service window**: free-form messages only within 24 hours of the
  customer's last WhatsApp message; outside it, only an approved template (a Content SID).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from switchboard.addresses import WHATSAPP_PREFIX
from switchboard.contract import Channel, IdentityKind

WINDOW = timedelta(hours=24)


def reply_address(
    channel: Channel, last_address: str, identities: Iterable[tuple[str, str]]
) -> str | None:
    """The customer's address for a reply on `channel`; None when they have none.

    `last_address`: where their latest message came from; `identities`: their (kind, value)
    pairs, as the store keeps them.
    """
    if channel is Channel.EMAIL:
        kinds = {IdentityKind.EMAIL}
        suits = "@" in last_address and ":" not in last_address
    elif channel is Channel.WHATSAPP:
        kinds = {IdentityKind.PHONE, IdentityKind.WHATSAPP}
        suits = last_address.startswith(("+", WHATSAPP_PREFIX))
    elif channel in (Channel.SMS, Channel.VOICE):  # a call is answered by SMS
        kinds = {IdentityKind.PHONE}
        suits = last_address.startswith("+")
    else:
        return None
    if suits:
        return last_address
    return next((value for kind, value in identities if kind in kinds), None)


def no_address(channel: Channel | None) -> str:
    return (
        f"nobody to reply to on {channel or 'no channel'}: the customer has no address for it "
        "(a withheld caller, a short code or a sender ID cannot be answered)"
    )


def window_open(last_customer_message_at: datetime | None, now: datetime) -> bool:
    """Whether a free-form WhatsApp message may be sent at `now`."""
    return last_customer_message_at is not None and now - last_customer_message_at <= WINDOW


def window_closed(last_customer_message_at: datetime | None) -> str:
    """Why a free-form WhatsApp message cannot go out (names the window, never an address)."""
    if last_customer_message_at is None:
        when = "the customer has not written on WhatsApp"
    else:
        when = f"the customer last wrote at {last_customer_message_at.isoformat()}"
    return (
        "outside WhatsApp's 24-hour customer service window "
        f"({when}): send an approved template instead"
    )
