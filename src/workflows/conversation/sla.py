"""The conversation's SLA clocks, on its route's business-hours calendar.

- **first response**: due `first_response` business time after the opening message (the
  route computed it: `first_response_due_at`); met by the first agent reply.
- **next response**: each customer message that follows an agent reply (or a resolution)
  starts it: due `next_response` business time later; met by the next agent reply, dropped
  by a resolution.
- **resolution**: one clock per conversation that runs while the conversation waits on an
  agent, in business time, and pauses while it waits on the customer: from an agent reply (or
  a resolution) until the customer writes again (or an agent reopens it). Due once the
  business time it ran reaches `resolution`; it counts across reopens.

Each due time is a timer of the conversation (`timers`); a target missed is an `sla_breached`
event naming it. Conversations opened before SLA policies (no `state.sla`) have only the
first-response target, as before. Functions of the state and `workflow.now()` only.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from switchboard import calendars
    from switchboard.contract import ConversationState, SlaPolicy


def targets(policy: SlaPolicy | None) -> dict[str, str]:
    """The targets measured, as the `opened` event's detail (business seconds): analytics
    tells a target missed or met from one not set."""
    if policy is None:
        return {}
    named = {
        "first_response_s": policy.first_response_s,
        "next_response_s": policy.next_response_s,
        "resolution_s": policy.resolution_s,
    }
    return {name: f"{value:g}" for name, value in named.items() if value is not None}


def opened(state: ConversationState, now: datetime) -> None:
    _run_clock(state, now)


def customer_wrote(state: ConversationState, now: datetime) -> None:
    """A customer message on the open conversation: the ball is in the agent's court."""
    sla = state.sla
    if sla is None:
        return
    if state.awaiting_customer:
        state.awaiting_customer = False
        if sla.next_response_s is not None and state.next_response_due_at is None:
            state.next_response_due_at = calendars.due(now, sla.next_response_s, sla)
    _run_clock(state, now)


def agent_replied(state: ConversationState, now: datetime) -> None:
    """An agent reply: the next response is met and the conversation waits on the customer."""
    if state.sla is None:
        return
    state.awaiting_customer = True
    state.next_response_due_at = None
    _pause_clock(state, now)


def resolved(state: ConversationState, now: datetime) -> None:
    """Resolved (by an agent or the inactivity window): nothing is due until it reopens."""
    agent_replied(state, now)


def reopened_by_agent(state: ConversationState, now: datetime) -> None:
    if state.sla is None:
        return
    state.awaiting_customer = False
    _run_clock(state, now)


def transferred(state: ConversationState, policy: SlaPolicy, now: datetime) -> None:
    """Moved to a queue with other targets: they apply from `now`. A first or next response
    still due is due the new target's time from now; the resolution clock keeps the business
    time it ran and is measured against the new target."""
    _pause_clock(state, now)
    state.sla = policy
    if state.first_response_at is None and not state.sla_breached:
        state.first_response_due_at = calendars.due(now, policy.first_response_s, policy)
    if state.next_response_due_at is not None:
        state.next_response_due_at = (
            None
            if policy.next_response_s is None
            else calendars.due(now, policy.next_response_s, policy)
        )
    if not state.awaiting_customer:  # else it stays paused until the customer writes
        _run_clock(state, now)


def _run_clock(state: ConversationState, now: datetime) -> None:
    sla = state.sla
    if (
        sla is None
        or sla.resolution_s is None
        or state.resolution_breached
        or state.resolution_clock_since is not None
    ):
        return
    state.resolution_clock_since = now
    left = max(sla.resolution_s - state.resolution_used_s, 0.0)
    state.resolution_due_at = calendars.due(now, left, sla)


def _pause_clock(state: ConversationState, now: datetime) -> None:
    sla, since = state.sla, state.resolution_clock_since
    if sla is None or since is None:
        return
    state.resolution_used_s += calendars.elapsed(since, now, sla)
    state.resolution_clock_since = None
    state.resolution_due_at = None
