"""A customer's conversation as data: what threading an interaction, an agent's action or a
timer does to its state, and the events each change records until they are written.

Workflow code all the same: new ids come from `workflow.uuid4`, and the caller passes the
workflow's time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from switchboard.contract import (
        INVALID_ACTION,
        Channel,
        ConversationEvent,
        ConversationPolicy,
        ConversationState,
        ConversationStatus,
        Direction,
        EventKind,
        InteractionRef,
        RecordConversationInput,
        TransferInput,
    )

from workflows.conversation import sla

RECENT_INTERACTIONS = 100
CUSTOMER_MESSAGE = "customer message"


def invalid(message: str) -> ApplicationError:
    """An action the conversation's state does not allow: the update fails with the reason."""
    return ApplicationError(message, type=INVALID_ACTION, non_retryable=True)


class Conversation:
    """A customer's open (or last) conversation, and the changes not yet recorded."""

    def __init__(
        self, customer_id: str, policy: ConversationPolicy, state: ConversationState | None
    ) -> None:
        self.customer_id = customer_id
        self.policy = policy
        self.state = state or ConversationState()
        self.events: list[ConversationEvent] = []
        self.threaded: list[str] = []
        # Whether new conversations take their route's SLA policy (`CONVERSATION_SLA_POLICIES`;
        # the workflow sets it once it knows which code path its history took).
        self.sla_policies = False

    def thread(self, ref: InteractionRef, now: datetime) -> bool:
        """Thread an interaction into the open conversation (opening one if needed).

        False for an interaction already threaded (a redelivered signal or a retried update).
        """
        if ref.interaction_id in self.state.recent_interaction_ids:
            return False
        if ref.direction is Direction.INBOUND:
            self._customer_message(ref, now)
        elif self.state.status is ConversationStatus.OPEN:
            if self.state.first_response_at is None:
                self.state.first_response_at = now
                self.event(EventKind.FIRST_RESPONSE, now, channel=ref.channel)
            sla.agent_replied(self.state, now)
        state = self.state  # after `_customer_message`: a new conversation replaces the state
        state.interaction_count += 1
        state.last_activity_at = now
        state.recent_interaction_ids = [
            *state.recent_interaction_ids[-(RECENT_INTERACTIONS - 1) :],
            ref.interaction_id,
        ]
        self.event(
            EventKind.INTERACTION,
            now,
            interaction_id=ref.interaction_id,
            channel=ref.channel,
            direction=ref.direction,
        )
        self.threaded.append(ref.interaction_id)
        return True

    def _customer_message(self, ref: InteractionRef, now: datetime) -> None:
        state = self.state
        resolved_long_ago = (
            state.status is ConversationStatus.RESOLVED
            and state.resolved_at is not None
            and (now - state.resolved_at).total_seconds() > self.policy.reopen_window_s
        )
        if state.status is None or resolved_long_ago:
            self.state = state = ConversationState(
                conversation_id=str(workflow.uuid4()),
                status=ConversationStatus.OPEN,
                queue=ref.route.queue,
                priority=ref.route.priority,
                opened_at=now,
                first_response_due_at=ref.route.sla_due_at,
                interaction_count=state.interaction_count,
                event_count=state.event_count,
                recent_interaction_ids=state.recent_interaction_ids,
                sla=ref.route.sla if self.sla_policies else None,
            )
            self.event(
                EventKind.OPENED,
                now,
                queue=ref.route.queue,
                channel=ref.channel,
                **sla.targets(state.sla),
            )
            sla.opened(state, now)
        else:
            if state.status is ConversationStatus.RESOLVED:
                self.reopen(now, reason=CUSTOMER_MESSAGE)
            sla.customer_wrote(state, now)
        state.reply_channel = ref.channel

    def replied(self, interaction_id: str, channel: Channel, now: datetime, by: str = "") -> None:
        """The agent's reply was sent: it is the first response if none came before."""
        state = self.state
        if state.first_response_at is None:
            state.first_response_at = now
            self.event(EventKind.FIRST_RESPONSE, now, by=by, channel=channel)
        sla.agent_replied(state, now)
        state.interaction_count += 1
        state.last_activity_at = now
        self.event(
            EventKind.INTERACTION,
            now,
            by=by,
            interaction_id=interaction_id,
            channel=channel,
            direction=Direction.OUTBOUND,
        )
        self.threaded.append(interaction_id)

    def assign(self, agent: str, now: datetime, by: str = "") -> None:
        self.state.assignee = agent
        self.event(EventKind.ASSIGNED, now, by=by, agent=agent)

    def resolve(
        self,
        now: datetime,
        code: str,
        kind: EventKind = EventKind.RESOLVED,
        by: str = "",
        disposition: str | None = None,
    ) -> None:
        self.state.status = ConversationStatus.RESOLVED
        self.state.resolved_at = now
        self.state.resolution_code = code
        # Both describe this resolution; a score of an earlier one does not carry over.
        self.state.disposition = disposition
        self.state.csat_score = None
        sla.resolved(self.state, now)
        extra = {} if disposition is None else {"disposition": disposition}
        self.event(kind, now, by=by, code=code, **extra)

    def transfer(self, inp: TransferInput, now: datetime) -> None:
        """To another queue (its SLA targets apply from now on) and/or another agent. A queue
        change without an agent leaves it unassigned: it waits in the new queue."""
        state = self.state
        detail = {"queue_from": state.queue, "queue_to": inp.queue or state.queue}
        if inp.queue and inp.queue != state.queue:
            state.queue = inp.queue
            state.assignee = None
            if inp.priority is not None:
                state.priority = inp.priority
            if inp.sla is not None:
                sla.transferred(state, inp.sla, now)
                detail.update(sla.targets(inp.sla))
        if inp.agent:
            state.assignee = detail["agent"] = inp.agent
        self.event(EventKind.TRANSFERRED, now, by=inp.actor, **detail)

    def label(self, add: list[str], remove: list[str], now: datetime, by: str = "") -> None:
        before = self.state.labels
        removed = [label for label in dict.fromkeys(remove) if label in before]
        kept = [label for label in before if label not in removed]
        added = [label for label in dict.fromkeys(add) if label not in kept]
        self.state.labels = sorted([*kept, *added])
        self.event(
            EventKind.LABELED,
            now,
            by=by,
            added=",".join(added),
            removed=",".join(removed),
            labels=",".join(self.state.labels),
        )

    def rate(self, score: int, comment: str, now: datetime, by: str = "") -> None:
        """The customer's CSAT of the latest resolution (a later score replaces it)."""
        self.state.csat_score = score
        extra = {"comment": comment} if comment else {}
        self.event(EventKind.CSAT, now, by=by, score=str(score), **extra)

    def reopen(self, now: datetime, reason: str, by: str = "") -> None:
        self.state.status = ConversationStatus.OPEN
        self.state.resolved_at = None
        self.state.resolution_code = None
        self.state.last_activity_at = now
        if reason != CUSTOMER_MESSAGE:
            sla.reopened_by_agent(self.state, now)
        self.event(EventKind.REOPENED, now, by=by, reason=reason)

    def require(self, status: ConversationStatus, action: str) -> None:
        """Refuse an action unless the conversation is in `status`."""
        if self.state.status is not status:
            raise invalid(
                f"cannot {action} a conversation that is {self.state.status or 'not started'}"
            )

    def event(self, kind: EventKind, at: datetime, by: str = "", **detail: str) -> None:
        # `by`, the actor, is data of the event and changes no command: histories from before
        # actors replay unchanged, so it needs no patch.
        self.state.event_count += 1
        self.events.append(
            ConversationEvent(
                event_id=str(workflow.uuid4()),
                conversation_id=self.state.conversation_id or "",
                customer_id=self.customer_id,
                kind=kind,
                at=at,
                seq=self.state.event_count,
                detail=detail,
                actor=by or None,
            )
        )

    def take_changes(self) -> RecordConversationInput:
        """The state and the events and interactions not yet recorded, handed over once."""
        events, threaded = self.events, self.threaded
        self.events, self.threaded = [], []
        return RecordConversationInput(self.customer_id, replace(self.state), events, threaded)
