"""Per-conversation outcomes, recomputable from the stored events.

Per conversation (from its `conversation_events` and the customer's inbound interactions):

- **answered**: an agent replied at least once (a `first_response` event);
- **resolved_by**: `agent` if the last `resolved`/`auto_resolved`/`reopened` event is an agent's
  `resolved`, `auto` if it is `auto_resolved` (the inactivity window passed), null while open;
- **first response time**: `opened` → the first agent reply;
- **resolution time**: `opened` → the agent's last resolution, in calendar time and in business
  hours (the routing rules' calendar). Only for conversations an agent resolved: an
  auto-resolution is the end of a wait, not a resolution, and would add the whole window;
- **first-contact resolution (FCR)**: true for a conversation an agent resolved that was never
  reopened and whose customer did not get in touch again (on ANY channel) within `fcr_window`
  after the resolution; false if it was reopened, auto-resolved (answered or not) or the
  customer came back inside the window; null while undecided (open, or resolved by an agent
  less than `fcr_window` ago with no contact since);
- **reopened**: a `reopened` event after a resolution;
- **SLA attained** (the first-response target): answered with no first-response
  `sla_breached` event; false if there is one; null while neither has happened;
- **next response attained**: for a conversation with a next-response target (its `opened`
  event names it): false after a next-response breach; true once a customer message that
  followed an agent reply (or a resolution) was answered, with no breach; else null;
- **resolution attained**: for a conversation with a resolution target: false after a
  resolution breach; true once an agent resolved it with no breach; else null;
- **channel**: the channel of the message that opened it; **agent**: the actor of its last
  agent resolution, else (events recorded before actors) the last agent assigned;
- **time in queue**: from the opening, or a transfer to a queue without an agent, to the next
  assignment (or a transfer to an agent), summed over the conversation; null until someone is
  assigned. A transfer restarts the clock: the wait in the queue it left is not counted;
- **handle time**: the time it was assigned to an agent, open and not waiting on the customer
  (from an agent's reply until the customer's next message), from the first assignment to the
  last resolution; only for conversations an agent resolved;
- **transfers**: how many times it was transferred;
- **labels**, **disposition** (of the agent's last resolution), **CSAT** (the customer's score,
  1-5, of the last resolution: a later score replaces it);
- **cost**: the sum of its interactions' costs (`analytics.costs.conversation_costs`).

The rates over these columns are defined once, in SQL (`analytics/metrics.sql`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine, select

from analytics.costs import conversation_costs
from switchboard.calendars import BusinessHours, business_time
from switchboard.costs import RateCard
from switchboard.store.tables import conversation_events, conversations, interactions

RESOLVED_KINDS = ("resolved", "auto_resolved")
FCR_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Event:
    conversation_id: str
    customer_id: str
    kind: str
    at: datetime
    seq: int = 0
    detail: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    actor: str | None = None  # who acted: `key:<name>` or `oidc:<sub>` (agent actions)


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
    channel: str | None
    agent: str | None
    answered: bool
    resolved_by: str | None
    resolved_at: datetime | None
    first_response: timedelta | None
    resolution: timedelta | None
    resolution_business: timedelta | None
    reopened: bool
    fcr: bool | None
    sla_attained: bool | None
    next_response_attained: bool | None = None
    resolution_attained: bool | None = None
    time_in_queue: timedelta | None = None
    handle_time: timedelta | None = None
    transfers: int = 0
    labels: tuple[str, ...] = ()
    disposition: str | None = None
    csat_score: int | None = None


def per_conversation(
    events: Iterable[Event],
    contacts: Iterable[Contact],
    hours: BusinessHours,
    now: datetime,
    fcr_window: timedelta = FCR_WINDOW,
) -> list[ConversationMetrics]:
    by_conversation: dict[str, list[Event]] = {}
    for event in events:
        by_conversation.setdefault(event.conversation_id, []).append(event)
    contacts_by_customer: dict[str, list[datetime]] = {}
    for contact in contacts:
        contacts_by_customer.setdefault(contact.customer_id, []).append(contact.at)

    results = []
    for history in by_conversation.values():
        history.sort(key=lambda e: (e.at, e.seq))
        opened = next((e for e in history if e.kind == "opened"), None)
        if opened is None:
            continue
        later = contacts_by_customer.get(opened.customer_id, [])
        results.append(_outcome(opened, history, later, hours, now, fcr_window))
    return sorted(results, key=lambda m: (m.opened_at, m.conversation_id))


def _outcome(
    opened: Event,
    history: list[Event],
    contacts: list[datetime],
    hours: BusinessHours,
    now: datetime,
    fcr_window: timedelta,
) -> ConversationMetrics:
    first_response = next((e.at for e in history if e.kind == "first_response"), None)
    # Breaches recorded before SLA policies name no target: the first response's.
    breached = {
        e.detail.get("target", "first_response") for e in history if e.kind == "sla_breached"
    }
    reopened = any(e.kind == "reopened" for e in history)
    agents = [e.detail.get("agent") for e in history if e.kind == "assigned"]
    resolvers = [e.actor for e in history if e.kind == "resolved" and e.actor]
    # Resolved now: the last open/close event is a resolution.
    closing = [e for e in history if e.kind in (*RESOLVED_KINDS, "reopened")]
    last = closing[-1] if closing and closing[-1].kind in RESOLVED_KINDS else None
    resolved_by = None if last is None else ("agent" if last.kind == "resolved" else "auto")
    by_agent = last.at if last is not None and resolved_by == "agent" else None

    fcr: bool | None = None
    if reopened or resolved_by == "auto":
        fcr = False  # decided at once: the first contact did not resolve it
    elif by_agent is not None:
        if any(by_agent < at <= by_agent + fcr_window for at in contacts):
            fcr = False  # the customer came back inside the window
        elif now - by_agent >= fcr_window:
            fcr = True
    labeled = [e for e in history if e.kind == "labeled"]
    last_resolved = max((i for i, e in enumerate(history) if e.kind == "resolved"), default=None)
    # Scores of the last resolution only (a resolution clears the score of the one before).
    since_resolved = [] if last_resolved is None else history[last_resolved:]
    scores = [e.detail["score"] for e in since_resolved if e.kind == "csat" and "score" in e.detail]
    return ConversationMetrics(
        conversation_id=opened.conversation_id,
        customer_id=opened.customer_id,
        opened_at=opened.at,
        channel=opened.detail.get("channel"),
        # The agent who resolved it, else (events from before actors) the last one assigned.
        agent=resolvers[-1] if resolvers else (agents[-1] if agents else None),
        answered=first_response is not None,
        resolved_by=resolved_by,
        resolved_at=None if last is None else last.at,
        first_response=None if first_response is None else first_response - opened.at,
        resolution=None if by_agent is None else by_agent - opened.at,
        resolution_business=(
            None if by_agent is None else business_time(opened.at, by_agent, hours)
        ),
        reopened=reopened,
        fcr=fcr,
        sla_attained=(
            False if "first_response" in breached else (True if first_response else None)
        ),
        next_response_attained=(
            None
            if "next_response_s" not in opened.detail
            else False
            if "next_response" in breached
            else (True if _answered_again(history) else None)
        ),
        resolution_attained=(
            None
            if "resolution_s" not in opened.detail
            else False
            if "resolution" in breached
            else (True if resolved_by == "agent" else None)
        ),
        time_in_queue=_time_in_queue(opened, history),
        handle_time=_handle_time(history) if resolved_by == "agent" else None,
        transfers=sum(1 for e in history if e.kind == "transferred"),
        labels=tuple(filter(None, labeled[-1].detail.get("labels", "").split(",")))
        if labeled
        else (),
        disposition=(
            history[last_resolved].detail.get("disposition")
            if resolved_by == "agent" and last_resolved is not None
            else None
        ),
        csat_score=int(scores[-1]) if scores else None,
    )


def _assigns(event: Event) -> bool:
    return event.kind == "assigned" or (event.kind == "transferred" and "agent" in event.detail)


def _time_in_queue(opened: Event, history: list[Event]) -> timedelta | None:
    """Opening or transfer to a queue → the next assignment, summed; None if never assigned."""
    waiting_since: datetime | None = opened.at
    total: timedelta | None = None
    for event in history:
        if _assigns(event):
            waited = timedelta(0) if waiting_since is None else event.at - waiting_since
            total, waiting_since = (total or timedelta(0)) + waited, None
        elif event.kind == "transferred":
            waiting_since = event.at  # back in a queue, unassigned: the clock starts again
    return total


def _handle_time(history: list[Event]) -> timedelta:
    """The time assigned, open and not waiting on the customer."""
    assigned, open_, awaiting = False, True, False
    since: datetime | None = None
    total = timedelta(0)
    for event in history:
        if since is not None:
            total += event.at - since
        direction = event.detail.get("direction") if event.kind == "interaction" else None
        if _assigns(event):
            assigned = True
        elif event.kind == "transferred":
            assigned = False
        elif direction == "outbound":
            awaiting = True
        elif direction == "inbound":
            awaiting = False
        elif event.kind in RESOLVED_KINDS:
            open_ = False
        elif event.kind == "reopened":
            open_, awaiting = True, False
        since = event.at if assigned and open_ and not awaiting else None
    return total


def _answered_again(history: list[Event]) -> bool:
    """Whether an agent answered a customer message that followed an agent reply or a
    resolution (a next response was due and met)."""
    awaiting_customer = pending = False
    for event in history:
        direction = event.detail.get("direction") if event.kind == "interaction" else None
        if direction == "outbound":
            if pending:
                return True
            awaiting_customer = True
        elif event.kind in RESOLVED_KINDS:
            awaiting_customer, pending = True, False
        elif direction == "inbound" and awaiting_customer:
            awaiting_customer, pending = False, True
    return False


def records(
    metrics: Iterable[ConversationMetrics],
    queues: dict[str, str],
    costs: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """The rows of the `conversations` dataset (see `CONVERSATIONS_SCHEMA`), by id; `costs`:
    what each cost (none given: nothing cost anything)."""
    costs = costs or {}
    return [
        {
            "conversation_id": m.conversation_id,
            "customer_id": m.customer_id,
            "queue": queues.get(m.conversation_id),
            "channel": m.channel,
            "agent": m.agent,
            "opened_at": m.opened_at,
            "resolved_at": m.resolved_at,
            "answered": m.answered,
            "resolved_by": m.resolved_by,
            "first_response_s": _seconds(m.first_response),
            "resolution_s": _seconds(m.resolution),
            "resolution_business_s": _seconds(m.resolution_business),
            "reopened": m.reopened,
            "fcr": m.fcr,
            "sla_attained": m.sla_attained,
            "next_response_attained": m.next_response_attained,
            "resolution_attained": m.resolution_attained,
            "time_in_queue_s": _seconds(m.time_in_queue),
            "handle_time_s": _seconds(m.handle_time),
            "transfers": m.transfers,
            "labels": ",".join(m.labels),
            "disposition": m.disposition,
            "csat_score": m.csat_score,
            "cost": costs.get(m.conversation_id, 0.0),
        }
        for m in sorted(metrics, key=lambda m: m.conversation_id)
    ]


def conversations_table(
    engine: Engine,
    hours: BusinessHours,
    now: datetime,
    schema: pa.Schema,
    fcr_window: timedelta = FCR_WINDOW,
    only: Collection[str] | None = None,
    rates: RateCard | None = None,
) -> pa.Table:
    """The outcome of every conversation (or of those in `only`), from the store, as the
    `conversations` dataset holds it; `rates`: the rate card its cost is priced by (none: the
    providers' prices only)."""
    events, contacts = load(engine, only)
    metrics = per_conversation(events, contacts, hours, now, fcr_window)
    costs = conversation_costs(engine, rates, only)
    return pa.Table.from_pylist(records(metrics, load_queues(engine, only), costs), schema=schema)


def load(engine: Engine, only: Collection[str] | None = None) -> tuple[list[Event], list[Contact]]:
    """The conversation events and inbound contacts the metrics are computed from: all of
    them, or those of the conversations in `only` and of their customers."""
    columns = (
        conversation_events.c.conversation_id,
        conversation_events.c.customer_id,
        conversation_events.c.kind,
        conversation_events.c.at,
        conversation_events.c.seq,
        conversation_events.c.detail,
        conversation_events.c.actor,
    )
    queries = (
        [select(*columns)]
        if only is None
        else [
            select(*columns).where(conversation_events.c.conversation_id.in_(chunk))
            for chunk in _chunks(sorted(only))
        ]
    )
    events: list[Event] = []
    with engine.connect() as conn:
        for query in queries:
            events += [
                Event(
                    r.conversation_id,
                    r.customer_id,
                    r.kind,
                    r.at,
                    r.seq,
                    r.detail or {},
                    r.actor or None,
                )
                for r in conn.execute(query)
            ]
        inbound = select(interactions.c.customer_id, interactions.c.occurred_at).where(
            interactions.c.direction == "inbound"
        )
        customers = sorted({e.customer_id for e in events})
        # Only the customers of conversations count: a million contacts of customers without
        # one were read for nothing on every full recomputation.
        with_conversations = select(conversation_events.c.customer_id).distinct()
        contact_queries = (
            [inbound.where(interactions.c.customer_id.in_(with_conversations))]
            if only is None
            else [inbound.where(interactions.c.customer_id.in_(c)) for c in _chunks(customers)]
        )
        contacts = [
            Contact(row.customer_id, row.occurred_at)
            for query in contact_queries
            for row in conn.execute(query)
        ]
    return events, contacts


def load_queues(engine: Engine, only: Collection[str] | None = None) -> dict[str, str]:
    """Each conversation's queue now (after any escalation)."""
    query = select(conversations.c.conversation_id, conversations.c.queue)
    with engine.connect() as conn:
        if only is None:
            return {row.conversation_id: row.queue for row in conn.execute(query)}
        return {
            row.conversation_id: row.queue
            for chunk in _chunks(sorted(only))
            for row in conn.execute(query.where(conversations.c.conversation_id.in_(chunk)))
        }


def _chunks(values: list[str], size: int = 500) -> list[list[str]]:
    """Bound parameter lists a database accepts (SQLite's limit is in the thousands)."""
    return [values[i : i + size] for i in range(0, len(values), size)]


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()
