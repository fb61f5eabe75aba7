"""Merging late provider events into the interaction they belong to.

Callbacks arrive out of order and more than once (a `delivered` before its `sent`, a
transcription before the call's own webhook). Merging is therefore commutative where it can be:
content fields fill in what is missing, and provider statuses only move forward.

Pure functions of the contract: the store applies them inside its transaction.
"""

from __future__ import annotations

from dataclasses import fields, replace

from switchboard.contract import Content, CustomerInteraction

# The order statuses move in; a status never gives way to one ranked lower. Terminal states
# share the top rank: the first one to arrive stands. Statuses we do not know (providers add
# them) rank lowest, so they are kept only when nothing better is known.
_MESSAGE_RANKS = {
    "accepted": 1,
    "scheduled": 1,
    "queued": 2,
    "sending": 3,
    "sent": 4,
    "receiving": 4,
    "received": 4,
    "partially_delivered": 5,
    "delivered": 6,
    "undelivered": 6,
    "failed": 6,
    "canceled": 6,
    "read": 7,
}
_CALL_RANKS = {
    "queued": 1,
    "ringing": 2,
    "in-progress": 3,
    "completed": 4,
    "busy": 4,
    "failed": 4,
    "no-answer": 4,
    "canceled": 4,
}
_EMAIL_RANKS = {
    "processed": 1,
    "deferred": 2,
    "delivered": 3,
    "bounce": 3,
    "dropped": 3,
    "open": 4,
    "click": 5,
}
_PUSH_RANKS = {"sent": 1, "delivered": 2, "failed": 2, "opened": 3}

RANKS: dict[str, dict[str, int]] = {
    "sms": _MESSAGE_RANKS,
    # WhatsApp's statuses are Messaging's, `read` included.
    "whatsapp": _MESSAGE_RANKS,
    "voice": _CALL_RANKS,
    "email": _EMAIL_RANKS,
    "push": _PUSH_RANKS,
}


def forward_status(channel: str, stored: str | None, incoming: str | None) -> str | None:
    """The status after `incoming` arrives: it wins only if it ranks above `stored`."""
    if incoming is None:
        return stored
    if stored is None:
        return incoming
    ranks = RANKS.get(channel, {})
    return incoming if ranks.get(incoming, 0) > ranks.get(stored, 0) else stored


def merge_content(stored: Content, incoming: Content) -> Content:
    """Fill in what `stored` lacks from `incoming`; what is already known is kept."""
    updates = {}
    for field in fields(Content):
        have, new = getattr(stored, field.name), getattr(incoming, field.name)
        if have in (None, "", [], {}) and new not in (None, "", [], {}):
            updates[field.name] = new
    return replace(stored, **updates) if updates else stored


def merge_interaction(
    stored: CustomerInteraction, incoming: CustomerInteraction
) -> CustomerInteraction:
    """`stored` with a later event of the same message or call merged in.

    Content and addresses fill in what is missing, the delivery status moves forward, and the
    interaction began at the earliest event seen: a callback can arrive before the event it
    follows. Everything else is the stored row's.
    """
    return replace(
        stored,
        content=merge_content(stored.content, incoming.content),
        delivery_status=forward_status(
            stored.channel, stored.delivery_status, incoming.delivery_status
        ),
        from_address=stored.from_address or incoming.from_address,
        to_address=stored.to_address or incoming.to_address,
        occurred_at=min(stored.occurred_at, incoming.occurred_at),
    )


def rederive_interaction(
    stored: CustomerInteraction, incoming: CustomerInteraction
) -> CustomerInteraction:
    """`stored` with a reprocessed event's new derivation in place of its old one.

    What the event yields now wins over what is stored, where it yields anything; the route and
    the channel (WhatsApp, once stored as SMS) are replaced only when this event is the one that
    created the interaction.
    """
    creator = incoming.received_at == stored.received_at
    return replace(
        stored,
        channel=incoming.channel if creator else stored.channel,
        content=merge_content(incoming.content, stored.content),
        from_address=incoming.from_address or stored.from_address,
        to_address=incoming.to_address or stored.to_address,
        route=incoming.route if creator else stored.route,
    )
