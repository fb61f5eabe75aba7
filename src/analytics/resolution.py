"""Resolution metrics, defined once here and recomputable from the stored events.

Per conversation (from its `conversation_events` and the customer's inbound interactions):

- **first response time**: `opened` → the first `first_response` (an agent's reply);
- **resolution time**: `opened` → the last `resolved`/`auto_resolved`, for conversations that
  are resolved now; in calendar time and in business hours (the routing rules' calendar);
- **first-contact resolution (FCR)**: resolved, never reopened, and no further inbound contact
  from the customer on ANY channel within `fcr_window` after the resolution. A conversation
  resolved less than `fcr_window` ago is not yet decided and is left out;
- **reopened**: a `reopened` event after a resolution;
- **SLA attained**: answered with no `sla_breached` event; breached if there is one; a
  conversation neither answered nor breached yet is undecided.

Rates are over the conversations for which the outcome is decided.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import mean, median

from sqlalchemy import Engine, select

from switchboard.routing import BusinessHours
from switchboard.store.tables import conversation_events, interactions

RESOLVED_KINDS = ("resolved", "auto_resolved")


@dataclass(frozen=True)
class Event:
    conversation_id: str
    customer_id: str
    kind: str
    at: datetime
    seq: int = 0


@dataclass(frozen=True)
class Contact:
    """An inbound interaction: the customer got in touch."""

    customer_id: str
    at: datetime


@dataclass(frozen=True)
class ConversationMetrics:
    conversation_id: str
    customer_id: str
    opened_at: datetime
    first_response: timedelta | None
    resolution: timedelta | None
    resolution_business: timedelta | None
    reopened: bool
    fcr: bool | None
    sla_attained: bool | None


@dataclass(frozen=True)
class Summary:
    conversations: int
    first_response_mean: timedelta | None
    first_response_median: timedelta | None
    resolution_mean: timedelta | None
    resolution_business_mean: timedelta | None
    fcr_rate: float | None
    reopen_rate: float | None
    sla_attainment: float | None


def business_time(start: datetime, end: datetime, hours: BusinessHours) -> timedelta:
    """The part of [start, end) inside business hours, day by day in the business timezone."""
    total = timedelta()
    day = start.astimezone(hours.timezone).date()
    last = end.astimezone(hours.timezone).date()
    while day <= last:
        if day.weekday() in hours.days:
            opens = datetime.combine(day, hours.start, hours.timezone)
            closes = datetime.combine(day, hours.end, hours.timezone)
            overlap = min(end, closes) - max(start, opens)
            if overlap > timedelta():
                total += overlap
        day += timedelta(days=1)
    return total


def per_conversation(
    events: Iterable[Event],
    contacts: Iterable[Contact],
    hours: BusinessHours,
    now: datetime,
    fcr_window: timedelta = timedelta(days=7),
) -> list[ConversationMetrics]:
    by_conversation: dict[str, list[Event]] = {}
    for event in events:
        by_conversation.setdefault(event.conversation_id, []).append(event)
    contacts_by_customer: dict[str, list[datetime]] = {}
    for contact in contacts:
        contacts_by_customer.setdefault(contact.customer_id, []).append(contact.at)

    results = []
    for conversation_id, history in by_conversation.items():
        history.sort(key=lambda e: (e.at, e.seq))
        opened = next((e for e in history if e.kind == "opened"), None)
        if opened is None:
            continue
        first_response = next((e.at for e in history if e.kind == "first_response"), None)
        breached = any(e.kind == "sla_breached" for e in history)
        reopened = any(e.kind == "reopened" for e in history)
        # Resolved now: the last open/close event is a resolution.
        closing = [e for e in history if e.kind in (*RESOLVED_KINDS, "reopened")]
        resolved_at = closing[-1].at if closing and closing[-1].kind in RESOLVED_KINDS else None

        fcr: bool | None = None
        if reopened:
            fcr = False  # decided at once: the first contact did not resolve it
        elif resolved_at is not None and now - resolved_at >= fcr_window:
            later = contacts_by_customer.get(opened.customer_id, [])
            fcr = not any(resolved_at < at <= resolved_at + fcr_window for at in later)

        results.append(
            ConversationMetrics(
                conversation_id=conversation_id,
                customer_id=opened.customer_id,
                opened_at=opened.at,
                first_response=None if first_response is None else first_response - opened.at,
                resolution=None if resolved_at is None else resolved_at - opened.at,
                resolution_business=(
                    None if resolved_at is None else business_time(opened.at, resolved_at, hours)
                ),
                reopened=reopened,
                fcr=fcr,
                sla_attained=False if breached else (True if first_response else None),
            )
        )
    return sorted(results, key=lambda m: m.opened_at)


def summarize(metrics: list[ConversationMetrics]) -> Summary:
    def rate(values: list[bool | None]) -> float | None:
        decided = [v for v in values if v is not None]
        return sum(decided) / len(decided) if decided else None

    def average(values: list[timedelta | None]) -> timedelta | None:
        present = [v for v in values if v is not None]
        return timedelta(seconds=mean(v.total_seconds() for v in present)) if present else None

    responses = [m.first_response for m in metrics if m.first_response is not None]
    ever_resolved = [m for m in metrics if m.resolution is not None or m.reopened]
    return Summary(
        conversations=len(metrics),
        first_response_mean=average(list(responses)),
        first_response_median=(
            timedelta(seconds=median(r.total_seconds() for r in responses)) if responses else None
        ),
        resolution_mean=average([m.resolution for m in metrics]),
        resolution_business_mean=average([m.resolution_business for m in metrics]),
        fcr_rate=rate([m.fcr for m in metrics]),
        reopen_rate=(
            sum(m.reopened for m in ever_resolved) / len(ever_resolved) if ever_resolved else None
        ),
        sla_attainment=rate([m.sla_attained for m in metrics]),
    )


def load(engine: Engine) -> tuple[list[Event], list[Contact]]:
    """The conversation events and inbound contacts the metrics are computed from."""
    with engine.connect() as conn:
        events = [
            Event(row.conversation_id, row.customer_id, row.kind, row.at, row.seq)
            for row in conn.execute(
                select(
                    conversation_events.c.conversation_id,
                    conversation_events.c.customer_id,
                    conversation_events.c.kind,
                    conversation_events.c.at,
                    conversation_events.c.seq,
                )
            )
        ]
        contacts = [
            Contact(row.customer_id, row.occurred_at)
            for row in conn.execute(
                select(interactions.c.customer_id, interactions.c.occurred_at).where(
                    interactions.c.direction == "inbound"
                )
            )
        ]
    return events, contacts
