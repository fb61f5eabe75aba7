"""The conversation's durable timers: the SLA targets (`sla`; a first-response breach is also
escalated) and inactivity (→ auto-resolved).

One timer runs until the earliest thing due and is replaced only by an earlier one: a new
interaction mostly just pushes the inactivity deadline later, and restarting the timer for it
would cost two history events each time. A timer that fires early finds nothing due yet.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from switchboard.contract import ConversationStatus, EventKind, SlaTarget

from workflows.conversation.state import Conversation

INACTIVITY = "inactivity"
# At the same instant, inactivity comes first (as it always has), then the targets.
_ORDER = {INACTIVITY: 0, SlaTarget.FIRST_RESPONSE: 1, SlaTarget.NEXT_RESPONSE: 2}


def next_due(conversation: Conversation) -> tuple[datetime, str] | None:
    """What is due next (an `SlaTarget` or `INACTIVITY`), and when (nothing for a conversation
    that is not open)."""
    state = conversation.state
    if state.status is not ConversationStatus.OPEN:
        return None
    timers: list[tuple[datetime, str]] = []
    if (
        state.first_response_at is None
        and not state.sla_breached
        and state.first_response_due_at is not None
    ):
        timers.append((state.first_response_due_at, SlaTarget.FIRST_RESPONSE))
    if state.next_response_due_at is not None:
        timers.append((state.next_response_due_at, SlaTarget.NEXT_RESPONSE))
    if state.resolution_due_at is not None:
        timers.append((state.resolution_due_at, SlaTarget.RESOLUTION))
    if state.last_activity_at is not None:
        inactive_until = state.last_activity_at + timedelta(
            seconds=conversation.policy.auto_resolve_after_s
        )
        timers.append((inactive_until, INACTIVITY))
    return min(timers, key=lambda t: (t[0], _ORDER.get(t[1], 3))) if timers else None


def apply_due(conversation: Conversation, now: datetime) -> bool:
    """Breach the SLA (and escalate) or auto-resolve, if due by `now`; whether it was."""
    due = next_due(conversation)
    if due is None or due[0] > now:
        return False
    state = conversation.state
    if due[1] == SlaTarget.NEXT_RESPONSE:
        state.next_response_due_at = None
        conversation.event(EventKind.SLA_BREACHED, now, **_breach(due))
    elif due[1] == SlaTarget.RESOLUTION:
        state.resolution_breached = True
        state.resolution_due_at = state.resolution_clock_since = None
        conversation.event(EventKind.SLA_BREACHED, now, **_breach(due))
    elif due[1] == SlaTarget.FIRST_RESPONSE:
        state.sla_breached = True
        # Conversations from before SLA policies recorded the due time alone.
        detail = _breach(due) if state.sla is not None else {"due_at": due[0].isoformat()}
        conversation.event(EventKind.SLA_BREACHED, now, **detail)
        escalation = conversation.policy.escalation_queue
        if escalation and escalation != state.queue:
            conversation.event(
                EventKind.ESCALATED, now, queue_from=state.queue, queue_to=escalation
            )
            state.queue = escalation
    else:
        conversation.resolve(now, "auto_resolved", EventKind.AUTO_RESOLVED)
    return True


def _breach(due: tuple[datetime, str]) -> dict[str, str]:
    return {"due_at": due[0].isoformat(), "target": due[1]}


class Deadline:
    """One durable timer, to the earliest moment it was asked for."""

    def __init__(self) -> None:
        self.at: datetime | None = None
        self._sleep: asyncio.Task[None] | None = None

    def arm(self, at: datetime | None) -> None:
        """Run the timer to `at`, unless it already runs to an earlier (or the same) moment."""
        if at is None or (self.at is not None and self.at <= at):
            return
        if self._sleep is not None:
            self._sleep.cancel()
        self.at = at
        self._sleep = asyncio.ensure_future(workflow.sleep(max(at - workflow.now(), timedelta(0))))

    def passed(self) -> bool:
        return self._sleep is not None and self._sleep.done()

    def fired(self) -> bool:
        """True once when the timer has fired; then it runs no more until armed again."""
        if not self.passed():
            return False
        self.at, self._sleep = None, None
        return True
