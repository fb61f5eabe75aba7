"""A scripted scenario with hand-computed outcomes, shared by the analytics and dashboard tests.

Business hours: Mon-Fri 09:00-17:00 UTC. Now: Sat 2026-12-05 00:00 UTC. FCR window: 7 days.
Agents: ana and bo (the last one assigned handles the conversation).

- A (c1, sms, ana): SMS Mon 23 10:00 opens it, a call at 10:20, ana replies 10:30, resolves
  11:00; A emails Tue 24 09:00 (reopened), ana resolves again Tue 10:00.
  → first response 30 min; resolution 24 h (business: Mon 10-17 = 7 h + Tue 9-10 = 1 h = 8 h);
    reopened; FCR false (reopened); SLA met.
- B (c2, email, bo): email Fri 20 16:00, SLA breached 16:30 (escalated), bo replies Mon 23
  09:30, resolves 10:00; B never writes again.
  → first response 65 h 30 min; resolution 66 h (business: Fri 16-17 + Mon 9-10 = 2 h);
    FCR true; SLA missed.
- C (c3, push, ana): push Mon 23 12:00, ana 12:10, resolved 12:20; C comes back INSIDE the FCR
  window: texts Wed 25 12:00 (c4, sms, SLA breached 13:00, still open).
  → c3: 10 min, 20 min (business 20 min), FCR false, SLA met;
    c4: unanswered, open, FCR undecided, SLA missed.
- D (c5, sms): SMS Tue 24 14:00, SLA breached 15:00, nobody answers; auto-resolved Fri 27 14:00.
  → unanswered, resolved_by auto, no resolution time, FCR false, SLA missed.
- E (c6, email, bo): email Thu 19 11:00, bo replies 11:20, resolves 12:00; E comes back OUTSIDE
  the FCR window: emails Fri 27 12:00 (c7, email, ana: reply 12:05, resolved Mon 30 09:00).
  → c6: 20 min, 1 h (business 1 h), FCR true, SLA met;
    c7: 5 min, 69 h (business: Fri 12-17 = 5 h), FCR undecided (resolved 4 days ago), SLA met.

Overall: 7 conversations, 5 answered, 5 resolved by an agent, 1 auto-resolved and unanswered.
Mean first response (30 m + 65 h 30 m + 10 m + 20 m + 5 m) / 5 = 799 min = 47,940 s, median
20 min; mean resolution (24 h + 66 h + 20 m + 1 h + 69 h) / 5 = 1,924 min = 115,440 s, median
24 h; business (8 h + 2 h + 20 m + 1 h + 5 h) / 5 = 196 min = 11,760 s; FCR 2 of 5 decided
(c1 F, c2 T, c3 F, c5 F, c6 T); reopen 1 of 6 ever resolved; unanswered 1 of 6 resolved;
SLA 4 of 7.
By agent: ana (c1, c3, c7): first response 15 min, resolution (24 h + 20 m + 69 h) / 3 =
112,000 s, FCR 0 of 2, reopen 1 of 3, SLA 3 of 3; bo (c2, c6): first response 118,500 s,
resolution 120,600 s, FCR 2 of 2, reopen 0, SLA 1 of 2.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

from analytics import export
from analytics.export.schemas import CONVERSATIONS_SCHEMA
from analytics.resolution import Contact, Event, per_conversation, records
from switchboard.calendars import BusinessHours
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
from switchboard.store import ConversationStore, Store
from tests.support.builders import sms_raw

HOURS = BusinessHours(ZoneInfo("UTC"), frozenset(range(5)), time(9), time(17))
NOW = datetime(2026, 12, 5, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def _opened(conversation: str, customer: str, when: datetime, channel: str) -> Event:
    return Event(conversation, customer, "opened", when, 0, {"channel": channel, "queue": "q"})


def _assigned(conversation: str, customer: str, when: datetime, agent: str) -> Event:
    return Event(conversation, customer, "assigned", when, 0, {"agent": agent})


EVENTS = [
    _opened("c1", "A", at(23, 10), "sms"),
    Event("c1", "A", "interaction", at(23, 10), 1),
    Event("c1", "A", "interaction", at(23, 10, 20)),
    _assigned("c1", "A", at(23, 10, 25), "ana"),
    Event("c1", "A", "first_response", at(23, 10, 30)),
    Event("c1", "A", "resolved", at(23, 11)),
    Event("c1", "A", "reopened", at(24, 9)),
    Event("c1", "A", "resolved", at(24, 10)),
    _opened("c2", "B", at(20, 16), "email"),
    Event("c2", "B", "sla_breached", at(20, 16, 30)),
    Event("c2", "B", "escalated", at(20, 16, 30), 1),
    _assigned("c2", "B", at(23, 9), "bo"),
    Event("c2", "B", "first_response", at(23, 9, 30)),
    Event("c2", "B", "resolved", at(23, 10)),
    _opened("c3", "C", at(23, 12), "push"),
    _assigned("c3", "C", at(23, 12, 5), "ana"),
    Event("c3", "C", "first_response", at(23, 12, 10)),
    Event("c3", "C", "resolved", at(23, 12, 20)),
    _opened("c4", "C", at(25, 12), "sms"),
    Event("c4", "C", "sla_breached", at(25, 13)),
    _opened("c5", "D", at(24, 14), "sms"),
    Event("c5", "D", "sla_breached", at(24, 15)),
    Event("c5", "D", "auto_resolved", at(27, 14)),
    _opened("c6", "E", at(19, 11), "email"),
    _assigned("c6", "E", at(19, 11, 10), "bo"),
    Event("c6", "E", "first_response", at(19, 11, 20)),
    Event("c6", "E", "resolved", at(19, 12)),
    _opened("c7", "E", at(27, 12), "email"),
    _assigned("c7", "E", at(27, 12, 1), "ana"),
    Event("c7", "E", "first_response", at(27, 12, 5)),
    Event("c7", "E", "resolved", at(30, 9)),
]
CONTACTS = [
    Contact("A", at(23, 10)),
    Contact("A", at(23, 10, 20)),
    Contact("A", at(24, 9)),
    Contact("B", at(20, 16)),
    Contact("C", at(23, 12)),
    Contact("C", at(25, 12)),
    Contact("D", at(24, 14)),
    Contact("E", at(19, 11)),
    Contact("E", at(27, 12)),
]
QUEUES = {"c1": "support", "c2": "escalations", "c3": "support", "c4": "support"}

# The resolution_overall mart's row for the scenario, by hand (see above).
OVERALL = {
    "conversations": 7,
    "answered": 5,
    "resolved_by_agent": 5,
    "resolved_auto": 1,
    "unanswered": 1,
    "first_response_mean_s": 47_940.0,
    "first_response_median_s": 1_200.0,
    "resolution_mean_s": 115_440.0,
    "resolution_median_s": 86_400.0,
    "resolution_business_mean_s": 11_760.0,
    "fcr_rate": 2 / 5,
    "reopen_rate": 1 / 6,
    "unanswered_rate": 1 / 6,
    "sla_attainment": 4 / 7,
}


def scenario_table() -> pa.Table:
    """The scenario's `conversations` dataset, as the export writes it."""
    outcomes = per_conversation(EVENTS, CONTACTS, HOURS, NOW)
    return pa.Table.from_pylist(records(outcomes, QUEUES), schema=CONVERSATIONS_SCHEMA)


def build_snapshot(root: Path, table: pa.Table) -> Path:
    """A published export under `root` holding only these conversations, with its marts."""
    staging = root / "staging" / "s"
    (staging / "conversations").mkdir(parents=True)
    pq.write_table(table, staging / "conversations" / "data.parquet")
    export.build_marts(staging)
    return export.publish(root, export.Staged(staging, export.Watermark(), True), [])


def write_scenario(store: Store) -> dict[str, str]:
    """The scenario's events and contacts, written to the store; its customers' ids."""
    customers = {
        name: store.resolve_customer(Identity(IdentityKind.EMAIL, f"{name}@x.com"))
        for name in "ABCDE"
    }
    conversations = ConversationStore(store.engine)
    for event in EVENTS:
        conversations.record(
            customers[event.customer_id],
            ConversationState(
                conversation_id=event.conversation_id,
                status=ConversationStatus.OPEN,
                queue=QUEUES.get(event.conversation_id, "q"),
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
                    event.detail,
                )
            ],
            [],
        )
    for n, contact in enumerate(CONTACTS):
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
            sms_raw(),
        )
    return customers
