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

SLA targets (next response, resolution) on the conversations opened with SLA policies: c1
(targets 1 h, 1 h, 8 h; ana answers A's Tuesday email at 09:20 before resolving: next
response met, resolution met), and two on a New York calendar (weekdays 09:00-17:00; first
response 2 h, next response 1 h, resolution 6 h), where the clocks went back on Sun 1 Nov:

- F (c8, sms, bo): texts Fri 30 Oct 15:00 EDT (19:00 UTC); bo replies 16:00 EDT (the
  resolution clock pauses: 1 h used); F writes Sat 31 12:00 EDT (clock resumes; next response
  due 1 business hour later: Mon 2 Nov 10:00 EST = 15:00 UTC, over the weekend and the DST
  change) and nobody answers in time: next-response breach Mon 15:00 UTC. bo replies Mon 11:00
  EST (3 h used), F writes 13:00 EST, bo replies 13:30 (3 h 30 min used) and resolves 14:00
  EST (19:00 UTC). Resolution met: 3 h 30 min of 6 h (on a clock that never paused it would
  have been due Mon 13:00 EST, before the resolution).
  → first response 1 h; resolution 72 h (business, UTC calendar: Mon 9-17 = 8 h); FCR true
    (F wrote only before the resolution); SLA met; next response missed; resolution met.
- G (c9, email, ana): emails Thu 19 Nov 16:00 EST (21:00 UTC); ana replies 16:30 (0.5 h used);
  G writes Fri 20 09:00 EST, ana replies 09:45 (next response met; 1 h 15 min used); G writes
  Fri 16:00 EST: next response due 17:00 EST (22:00 UTC), missed; the resolution clock has
  4 h 45 min left: Fri 16-17 and Mon 23 09:00-12:45 EST: resolution breach Mon 17:45 UTC, over
  the weekend. ana replies Mon 13:00 EST, resolves 13:30 EST (18:30 UTC).
  → first response 30 min; resolution 93 h 30 min (business: Fri 20 8 h + Mon 23 8 h = 16 h);
    FCR true; SLA met; next response missed; resolution missed.

Agent actions (time in queue: opening or transfer → assignment; handle time: assigned, open and
not waiting on the customer, for those an agent resolved):
- c1: assigned 10:25 (queue 25 min); handled 10:25-10:30 and, reopened, 09:00-09:20 (the
  rest waits on A): 25 min; labels billing,vip then vip; resolved "answered"; scored 1 after
  the first resolution, 2 then 4 after the last: CSAT 4.
- c2: queue Fri 16:00 → Mon 09:00 = 65 h; handled 09:00-10:00 = 1 h.
- c3: assigned 12:05, transferred (to a queue, unassigned) 12:06, assigned again 12:08: queue
  5 + 2 = 7 min; handled 12:05-12:06 and 12:08-12:20 = 13 min; one transfer.
- c4, c5: never assigned: no time in queue, no handle time.
- c6: queue 10 min; handled 11:10-12:00 = 50 min; resolved "refund_issued"; CSAT 5.
- c7: queue 1 min; handled Fri 27 12:01 → Mon 30 09:00 (no reply event) = 68 h 59 min.
- c8: queue 30 min; handled 19:30-20:00, Sat 16:00 → Mon 16:00 UTC less nothing (47 h + 1 h),
  18:00-18:30: 49 h.
- c9: queue 10 min; handled 21:10-21:30, Fri 14:00-14:45, Fri 21:00 → Mon 18:00 UTC (69 h):
  70 h 5 min.
Mean time in queue (1,500 + 234,000 + 420 + 600 + 60 + 1,800 + 600) / 7 = 238,980 s / 7; mean
handle time (1,500 + 3,600 + 780 + 3,000 + 248,340 + 176,400 + 252,300) / 7 = 685,920 s / 7;
CSAT 2 responses, mean 4.5.

Overall: 9 conversations, 7 answered, 7 resolved by an agent, 1 auto-resolved and unanswered.
Mean first response (30 m + 65 h 30 m + 10 m + 20 m + 5 m + 1 h + 30 m) / 7 = 245,100 s / 7,
median 30 min; mean resolution (24 h + 66 h + 20 m + 1 h + 69 h + 72 h + 93 h 30 m) / 7 =
1,173,000 s / 7, median 66 h; business (8 h + 2 h + 20 m + 1 h + 5 h + 8 h + 16 h) / 7 =
145,200 s / 7; FCR 4 of 7 decided (c1 F, c2 T, c3 F, c5 F, c6 T, c8 T, c9 T); reopen 1 of 8
ever resolved; unanswered 1 of 8 resolved; first-response SLA 6 of 9; next response 1 of 3
(c1 T, c8 F, c9 F); resolution 2 of 3 (c1 T, c8 T, c9 F).
By agent: ana (c1, c3, c7, c9): first response (30 m + 10 m + 5 m + 30 m) / 4 = 1,125 s,
resolution (24 h + 20 m + 69 h + 93 h 30 m) / 4 = 168,150 s, FCR 1 of 3, reopen 1 of 4, SLA 4
of 4, next response 1 of 2, resolution 1 of 2; bo (c2, c6, c8): first response 80,200 s,
resolution 166,800 s, FCR 3 of 3, reopen 0, SLA 2 of 3, next response 0 of 1, resolution 1 of 1.
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
    SlaPolicy,
    Status,
)
from switchboard.store import ConversationStore, Store
from tests.support.builders import sms_raw

HOURS = BusinessHours(ZoneInfo("UTC"), frozenset(range(5)), time(9), time(17))
NOW = datetime(2026, 12, 5, tzinfo=UTC)
NEW_YORK_SLA = SlaPolicy(
    first_response_s=2 * 3600,
    next_response_s=3600,
    resolution_s=6 * 3600,
    timezone="America/New_York",
)
# What an `opened` event names of its route's SLA policy.
TARGETS_C1 = {"first_response_s": "3600", "next_response_s": "3600", "resolution_s": "28800"}
TARGETS_NY = {"first_response_s": "7200", "next_response_s": "3600", "resolution_s": "21600"}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def _opened(
    conversation: str,
    customer: str,
    when: datetime,
    channel: str,
    targets: dict[str, str] | None = None,
) -> Event:
    detail = {"channel": channel, "queue": "q", **(targets or {})}
    return Event(conversation, customer, "opened", when, 0, detail)


def _message(conversation: str, customer: str, when: datetime, direction: str) -> Event:
    return Event(conversation, customer, "interaction", when, 1, {"direction": direction})


def _breach(conversation: str, customer: str, when: datetime, target: str) -> Event:
    detail = {"target": target, "due_at": when.isoformat()}
    return Event(conversation, customer, "sla_breached", when, 2, detail)


def _assigned(conversation: str, customer: str, when: datetime, agent: str) -> Event:
    return Event(conversation, customer, "assigned", when, 0, {"agent": agent})


EVENTS = [
    _opened("c1", "A", at(23, 10), "sms", TARGETS_C1),
    _message("c1", "A", at(23, 10), "inbound"),
    _message("c1", "A", at(23, 10, 20), "inbound"),
    _assigned("c1", "A", at(23, 10, 25), "ana"),
    Event("c1", "A", "labeled", at(23, 10, 26), 0, {"labels": "billing,vip"}),
    Event("c1", "A", "first_response", at(23, 10, 30)),
    _message("c1", "A", at(23, 10, 30), "outbound"),
    Event("c1", "A", "resolved", at(23, 11)),
    Event("c1", "A", "csat", at(23, 11, 30), 0, {"score": "1"}),
    Event("c1", "A", "reopened", at(24, 9)),
    Event("c1", "A", "labeled", at(24, 9, 10), 0, {"labels": "vip"}),
    _message("c1", "A", at(24, 9), "inbound"),
    _message("c1", "A", at(24, 9, 20), "outbound"),
    Event("c1", "A", "resolved", at(24, 10), 0, {"disposition": "answered"}),
    Event("c1", "A", "csat", at(24, 10, 5), 0, {"score": "2"}),
    Event("c1", "A", "csat", at(24, 10, 30), 0, {"score": "4"}),
    _opened("c2", "B", at(20, 16), "email"),
    Event("c2", "B", "sla_breached", at(20, 16, 30)),
    Event("c2", "B", "escalated", at(20, 16, 30), 1),
    _assigned("c2", "B", at(23, 9), "bo"),
    Event("c2", "B", "first_response", at(23, 9, 30)),
    Event("c2", "B", "resolved", at(23, 10)),
    _opened("c3", "C", at(23, 12), "push"),
    _assigned("c3", "C", at(23, 12, 5), "ana"),
    Event("c3", "C", "transferred", at(23, 12, 6), 0, {"queue_from": "q", "queue_to": "r"}),
    _assigned("c3", "C", at(23, 12, 8), "ana"),
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
    Event("c6", "E", "resolved", at(19, 12), 0, {"disposition": "refund_issued"}),
    Event("c6", "E", "csat", at(19, 13), 0, {"score": "5"}),
    _opened("c7", "E", at(27, 12), "email"),
    _assigned("c7", "E", at(27, 12, 1), "ana"),
    Event("c7", "E", "first_response", at(27, 12, 5)),
    Event("c7", "E", "resolved", at(30, 9)),
    _opened("c8", "F", utc(10, 30, 19), "sms", TARGETS_NY),
    _message("c8", "F", utc(10, 30, 19), "inbound"),
    _assigned("c8", "F", utc(10, 30, 19, 30), "bo"),
    Event("c8", "F", "first_response", utc(10, 30, 20)),
    _message("c8", "F", utc(10, 30, 20), "outbound"),
    _message("c8", "F", utc(10, 31, 16), "inbound"),
    _breach("c8", "F", utc(11, 2, 15), "next_response"),
    _message("c8", "F", utc(11, 2, 16), "outbound"),
    _message("c8", "F", utc(11, 2, 18), "inbound"),
    _message("c8", "F", utc(11, 2, 18, 30), "outbound"),
    Event("c8", "F", "resolved", utc(11, 2, 19)),
    _opened("c9", "G", utc(11, 19, 21), "email", TARGETS_NY),
    _message("c9", "G", utc(11, 19, 21), "inbound"),
    _assigned("c9", "G", utc(11, 19, 21, 10), "ana"),
    Event("c9", "G", "first_response", utc(11, 19, 21, 30)),
    _message("c9", "G", utc(11, 19, 21, 30), "outbound"),
    _message("c9", "G", utc(11, 20, 14), "inbound"),
    _message("c9", "G", utc(11, 20, 14, 45), "outbound"),
    _message("c9", "G", utc(11, 20, 21), "inbound"),
    _breach("c9", "G", utc(11, 20, 22), "next_response"),
    _breach("c9", "G", utc(11, 23, 17, 45), "resolution"),
    _message("c9", "G", utc(11, 23, 18), "outbound"),
    Event("c9", "G", "resolved", utc(11, 23, 18, 30)),
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
    Contact("F", utc(10, 30, 19)),
    Contact("F", utc(10, 31, 16)),
    Contact("F", utc(11, 2, 18)),
    Contact("G", utc(11, 19, 21)),
    Contact("G", utc(11, 20, 14)),
    Contact("G", utc(11, 20, 21)),
]
QUEUES = {"c1": "support", "c2": "escalations", "c3": "support", "c4": "support"}

# The resolution_overall mart's row for the scenario, by hand (see above).
OVERALL = {
    "conversations": 9,
    "answered": 7,
    "resolved_by_agent": 7,
    "resolved_auto": 1,
    "unanswered": 1,
    "first_response_mean_s": 245_100 / 7,
    "first_response_median_s": 1_800.0,
    "resolution_mean_s": 1_173_000 / 7,
    "resolution_median_s": 237_600.0,
    "resolution_business_mean_s": 145_200 / 7,
    "fcr_rate": 4 / 7,
    "reopen_rate": 1 / 8,
    "unanswered_rate": 1 / 8,
    "sla_attainment": 6 / 9,
    "next_response_attainment": 1 / 3,
    "resolution_attainment": 2 / 3,
    "time_in_queue_mean_s": 238_980 / 7,
    "handle_time_mean_s": 685_920 / 7,
    "transfers": 1,
    "csat_responses": 2,
    "csat_mean": 4.5,
    # No interaction of the scenario's conversations cost anything today.
    "cost_today": 0.0,
    "cost_per_resolved_conversation": 0.0,
}
# The scenario has no webhook deliveries: none received, no error rate.
OVERALL |= {"received": 0, "accepted": 0, "failed": 0, "refused": 0, "error_rate": None}
# Nor interactions of its own: no processing latency.
OVERALL |= {"interactions": 0} | {f"latency_{p}_ms": None for p in ("p50", "p95", "p99")}


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
        for name in "ABCDEFG"
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
