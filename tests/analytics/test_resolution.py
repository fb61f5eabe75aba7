"""Resolution metrics against hand-computed values for a scripted three-channel scenario.

Business hours: Mon-Fri 09:00-17:00 UTC. Now: Sat 2026-12-05 00:00 UTC. FCR window: 7 days.

- A (conversation 1): SMS Mon 23 10:00 opens it, a call at 10:20, an agent replies 10:30,
  resolved 11:00; A emails Tue 24 09:00 (reopened), resolved again Tue 10:00.
  → first response 30 min; resolution 24 h (business: Mon 10-17 = 7 h + Tue 9-10 = 1 h = 8 h);
    reopened; not FCR (reopened); SLA met.
- B (conversation 2): email Fri 20 16:00, SLA breached 16:30 (escalated), reply Mon 23 09:30,
  resolved 10:00; B never writes again.
  → first response 65 h 30 min; resolution 66 h (business: Fri 16-17 + Mon 9-10 = 2 h);
    FCR; SLA missed.
- C (conversation 3): push reply Mon 23 12:00, agent 12:10, resolved 12:20;
  C texts again Wed 25 12:00 (conversation 4, SLA breached 13:00, still open).
  → conversation 3: 10 min, 20 min (business 20 min), not FCR (contact within 7 days), SLA met;
    conversation 4: no response, unresolved, FCR undecided, SLA missed.

Summary: mean first response (30 min + 65 h 30 min + 10 min) / 3 = 22 h 3 min 20 s, median
30 min; mean resolution (24 h + 66 h + 20 min) / 3 = 30 h 6 min 40 s; business (8 h + 2 h +
20 min) / 3 = 3 h 26 min 40 s; FCR 1 of 3 decided; reopen rate 1 of 3 resolved; SLA 2 of 4.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from analytics.resolution import (
    Contact,
    Event,
    business_time,
    load,
    per_conversation,
    summarize,
)
from switchboard.contract import (
    Channel,
    Content,
    ConversationEvent,
    ConversationState,
    ConversationStatus,
    CustomerInteraction,
    Direction,
    EventKind,
    Identity,
    IdentityKind,
    Provider,
    Route,
    Status,
)
from switchboard.routing import BusinessHours
from switchboard.store import ConversationStore, Store
from tests.support.builders import sms_raw

HOURS = BusinessHours(ZoneInfo("UTC"), frozenset(range(5)), time(9), time(17))
NOW = datetime(2026, 12, 5, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


EVENTS = [
    Event("c1", "A", "opened", at(23, 10)),
    Event("c1", "A", "interaction", at(23, 10), 1),
    Event("c1", "A", "interaction", at(23, 10, 20)),
    Event("c1", "A", "first_response", at(23, 10, 30)),
    Event("c1", "A", "resolved", at(23, 11)),
    Event("c1", "A", "reopened", at(24, 9)),
    Event("c1", "A", "resolved", at(24, 10)),
    Event("c2", "B", "opened", at(20, 16)),
    Event("c2", "B", "sla_breached", at(20, 16, 30)),
    Event("c2", "B", "escalated", at(20, 16, 30), 1),
    Event("c2", "B", "first_response", at(23, 9, 30)),
    Event("c2", "B", "resolved", at(23, 10)),
    Event("c3", "C", "opened", at(23, 12)),
    Event("c3", "C", "first_response", at(23, 12, 10)),
    Event("c3", "C", "resolved", at(23, 12, 20)),
    Event("c4", "C", "opened", at(25, 12)),
    Event("c4", "C", "sla_breached", at(25, 13)),
]
CONTACTS = [
    Contact("A", at(23, 10)),
    Contact("A", at(23, 10, 20)),
    Contact("A", at(24, 9)),
    Contact("B", at(20, 16)),
    Contact("C", at(23, 12)),
    Contact("C", at(25, 12)),
]


def test_per_conversation_values_match_the_hand_computed_ones() -> None:
    metrics = {m.conversation_id: m for m in per_conversation(EVENTS, CONTACTS, HOURS, NOW)}
    h, m = timedelta(hours=1), timedelta(minutes=1)
    expected = {
        # first response, resolution, business resolution, reopened, FCR, SLA
        "c1": (30 * m, 24 * h, 8 * h, True, False, True),
        "c2": (65 * h + 30 * m, 66 * h, 2 * h, False, True, False),
        "c3": (10 * m, 20 * m, 20 * m, False, False, True),
        "c4": (None, None, None, False, None, False),
    }
    for conversation, values in expected.items():
        got = metrics[conversation]
        assert (
            got.first_response,
            got.resolution,
            got.resolution_business,
            got.reopened,
            got.fcr,
            got.sla_attained,
        ) == values, conversation


def test_summary_matches_the_hand_computed_one() -> None:
    summary = summarize(per_conversation(EVENTS, CONTACTS, HOURS, NOW))
    assert summary.conversations == 4
    assert summary.first_response_mean == timedelta(hours=22, minutes=3, seconds=20)
    assert summary.first_response_median == timedelta(minutes=30)
    assert summary.resolution_mean == timedelta(hours=30, minutes=6, seconds=40)
    assert summary.resolution_business_mean == timedelta(hours=3, minutes=26, seconds=40)
    assert summary.fcr_rate == 1 / 3
    assert summary.reopen_rate == 1 / 3
    assert summary.sla_attainment == 0.5


def test_fcr_is_undecided_inside_the_window() -> None:
    early = datetime(2026, 11, 26, tzinfo=UTC)  # three days after B's resolution
    metrics = {m.conversation_id: m for m in per_conversation(EVENTS, CONTACTS, HOURS, early)}
    assert metrics["c2"].fcr is None
    assert metrics["c1"].fcr is False  # a reopened conversation is decided at once


def test_business_time_skips_nights_weekends_and_follows_the_timezone() -> None:
    assert business_time(at(20, 16), at(23, 10), HOURS) == timedelta(hours=2)
    new_york = BusinessHours(ZoneInfo("America/New_York"), frozenset(range(5)), time(9), time(17))
    # 14:00-22:00 UTC on a Monday is 09:00-17:00 in New York (EST, UTC-5): all of it counts.
    assert business_time(at(23, 14), at(23, 22), new_york) == timedelta(hours=8)


def test_metrics_are_computed_from_what_the_store_holds(store: Store) -> None:
    """The scenario's events and contacts, written to the store, give the same summary."""
    customers = {
        name: store.resolve_customer(Identity(IdentityKind.EMAIL, f"{name}@x.com"))
        for name in "ABC"
    }
    conversations = ConversationStore(store.engine)
    for event in EVENTS:
        conversations.record(
            customers[event.customer_id],
            ConversationState(
                conversation_id=event.conversation_id,
                status=ConversationStatus.OPEN,
                queue="q",
                opened_at=event.at,
            ),
            [
                ConversationEvent(
                    str(uuid.uuid4()),
                    event.conversation_id,
                    customers[event.customer_id],
                    EventKind(event.kind),
                    event.at,
                    event.seq,
                )
            ],
            [],
        )
    for n, contact in enumerate(CONTACTS):
        raw = sms_raw()
        store.persist_interaction(
            CustomerInteraction(
                interaction_id=str(uuid.uuid4()),
                customer_id=customers[contact.customer_id],
                channel=Channel.SMS,
                direction=Direction.INBOUND,
                provider=Provider.TWILIO,
                provider_message_id=f"SM{n}",
                from_address="+1",
                to_address="+2",
                occurred_at=contact.at,
                received_at=contact.at,
                content=Content(),
                status=Status.COMPLETED,
                route=Route("q", 1),
            ),
            raw,
        )
    events, contacts = load(store.engine)
    assert summarize(per_conversation(events, contacts, HOURS, NOW)) == summarize(
        per_conversation(
            [replace(e, customer_id=customers[e.customer_id]) for e in EVENTS],
            [replace(c, customer_id=customers[c.customer_id]) for c in CONTACTS],
            HOURS,
            NOW,
        )
    )
