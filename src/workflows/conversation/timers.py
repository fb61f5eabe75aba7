"""The conversation's durable timers: the first-response SLA (breach → recorded, escalated)
and inactivity (→ auto-resolved).

One timer runs until the earliest thing due and is replaced only by an earlier one: a new
interaction mostly just pushes the inactivity deadline later, and restarting the timer for it
would cost two history events each time. A timer that fires early finds nothing due yet.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from switchboard.contract import ConversationStatus, EventKind

from workflows.conversation.state import Conversation


def next_due(conversation: Conversation) -> tuple[datetime, EventKind] | None:
    """What is due next, and when (nothing for a conversation that is not open)."""
    state = conversation.state
    if state.status is not ConversationStatus.OPEN:
        return None
    timers = []
    if (
        state.first_response_at is None
        and not state.sla_breached
        and state.first_response_due_at is not None
    ):
        timers.append((state.first_response_due_at, EventKind.SLA_BREACHED))
    if state.last_activity_at is not None:
        inactive_until = state.last_activity_at + timedelta(
            seconds=conversation.policy.auto_resolve_after_s
        )
        timers.append((inactive_until, EventKind.AUTO_RESOLVED))
    return min(timers) if timers else None


def apply_due(conversation: Conversation, now: datetime) -> bool:
    """Breach the SLA (and escalate) or auto-resolve, if due by `now`; whether it was."""
    due = next_due(conversation)
    if due is None or due[0] > now:
        return False
    state = conversation.state
    if due[1] is EventKind.SLA_BREACHED:
        state.sla_breached = True
        conversation.event(EventKind.SLA_BREACHED, now, due_at=due[0].isoformat())
        escalation = conversation.policy.escalation_queue
        if escalation and escalation != state.queue:
            conversation.event(
                EventKind.ESCALATED, now, queue_from=state.queue, queue_to=escalation
            )
            state.queue = escalation
    else:
        conversation.resolve(now, "auto_resolved", EventKind.AUTO_RESOLVED)
    return True


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
