"""WhatsApp's customer service window: free-form messages only within 24 hours of the
customer's last message; outside it, only an approved template (a Content SID).

One definition, read by the API (which answers 409 before anything is sent) and by the reply
activity (the last guard, should the window close in between).
"""

from __future__ import annotations

from datetime import datetime, timedelta

WINDOW = timedelta(hours=24)


def window_open(last_customer_message_at: datetime | None, now: datetime) -> bool:
    """Whether a free-form message may be sent at `now`."""
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
