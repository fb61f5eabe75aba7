"""ConversationWorkflow: one entity workflow per customer, holding their open conversation.

Interactions arrive as signals (signal-with-start from InteractionWorkflow), threaded in
batches: those that arrived together are one store write. Agent actions arrive as updates, so
each caller gets the result or a validation error. Durable timers
watch the first-response SLA (breach → recorded, escalated) and inactivity (→ auto-resolved).
Every state change becomes an event in the store. The history continues as new before it
grows large, carrying the state.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from switchboard import search_attributes as sa
    from switchboard.contract import (
        ADD_INTERACTION,
        ASSIGN,
        INVALID_ACTION,
        LOAD_INTERACTIONS,
        RECORD_CONVERSATION,
        REOPEN,
        REPLY,
        REPLY_FAILED,
        RESOLVE,
        SEND_REPLY,
        THREAD,
        AssignInput,
        Channel,
        ConversationEvent,
        ConversationInput,
        ConversationState,
        ConversationStatus,
        Direction,
        EventKind,
        InteractionRef,
        LoadInteractionsInput,
        LoadInteractionsResult,
        RecordConversationInput,
        ReopenInput,
        ReplyInput,
        ResolveInput,
        SendReplyInput,
        SendReplyResult,
    )

STORE_TIMEOUT = timedelta(seconds=30)
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
RECENT_INTERACTIONS = 100
# An agent waits for the answer: a few quick attempts, then the update fails with the reason.
SEND_TIMEOUT = timedelta(seconds=20)
SEND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, type=INVALID_ACTION, non_retryable=True)


# Not sandboxed, as InteractionWorkflow (see there): it handles a signal per message.
@workflow.defn(sandboxed=False)
class ConversationWorkflow:
    @workflow.init
    def __init__(self, inp: ConversationInput) -> None:
        # Set here, not in run: with update-with-start the update handler runs first.
        self.customer_id = inp.customer_id
        self.policy = inp.policy
        self.state = inp.state or ConversationState()
        self.events: list[ConversationEvent] = []
        self.threaded: list[str] = []
        # Interactions signalled and not yet threaded, in arrival order.
        self.arrived: list[InteractionRef] = []
        self.changes = 0
        # The search attributes last upserted (none yet in this run).
        self.indexed: tuple[str, str, str | None, bool] | None = None
        # Updates and timers interleave at awaits; one change is recorded at a time.
        self.lock = asyncio.Lock()
        self.one_patch: bool | None = None
        self.facts_from_store = False

    @workflow.run
    async def run(self, inp: ConversationInput) -> None:
        # Patched in: one timer runs until the earliest thing due and is replaced only by an
        # earlier one. Before, every interaction cancelled and restarted it (two history
        # events each), although it mostly just pushes the inactivity deadline later.
        keep_timer = self._current() or workflow.patched("keep-earlier-timer")
        timer: asyncio.Task[None] | None = None
        timer_at: datetime | None = None
        while True:
            await self._thread_arrived()
            # Checked after threading: signals lengthen the history without waking the loop
            # again once threaded.
            if workflow.info().get_current_history_length() > self.policy.max_history_events:
                await workflow.wait_condition(workflow.all_handlers_finished)
                # Signals that came while the updates finished go with this run, not the next.
                await self._thread_arrived()
                workflow.continue_as_new(
                    ConversationInput(self.customer_id, self.policy, self.state)
                )
            seen = self.changes
            due = self._next_timer()
            if not keep_timer:
                timeout = None if due is None else max(due[0] - workflow.now(), timedelta(0))
                try:
                    await workflow.wait_condition(
                        lambda seen=seen: (
                            self.changes != seen or bool(self.arrived)  # type: ignore[misc]
                        ),
                        timeout=timeout,
                    )
                except TimeoutError:
                    async with self.lock:
                        await self._on_timer()
            else:
                if due is not None and (timer_at is None or due[0] < timer_at):
                    if timer is not None:
                        timer.cancel()
                    timer_at = due[0]
                    delay = max(due[0] - workflow.now(), timedelta(0))
                    timer = asyncio.ensure_future(workflow.sleep(delay))
                await workflow.wait_condition(
                    lambda seen=seen, t=timer: (
                        self.changes != seen  # type: ignore[misc]
                        or bool(self.arrived)
                        or (t is not None and t.done())
                    )
                )
                if timer is not None and timer.done():
                    timer, timer_at = None, None
                    # Fired early when the deadline moved later: `_on_timer` re-checks.
                    async with self.lock:
                        await self._on_timer()

    def _current(self) -> bool:
        """Whether this run takes the current code path: one patch stands for the three others.

        Each `workflow.patched` also records a marker and upserts `TemporalChangeVersion` (a
        history event and a visibility write) once per run, continued runs included. A new run
        checks this patch alone; histories recorded before it replay under the ones they took.
        Asked at first need, which may be an update handler running before `run`.

        "conversation-facts-from-store" (issue 18) is the current path now: the one-patch path
        plus interactions read from the store (`_as_stored`). A new run checks it alone; runs
        that took "conversation-one-patch" keep taking that path without the store read.
        """
        if self.one_patch is None:
            self.facts_from_store = workflow.patched("conversation-facts-from-store")
            self.one_patch = self.facts_from_store or workflow.patched("conversation-one-patch")
        return self.one_patch

    # --- interactions ----------------------------------------------------------------------

    @workflow.signal(name=THREAD)
    def thread(self, ref: InteractionRef) -> None:
        """An interaction to thread; the run loop threads what arrived, in one store write."""
        self.arrived.append(ref)

    async def _thread_arrived(self) -> None:
        if not self.arrived:
            return
        async with self.lock:
            arrived, self.arrived = self.arrived, []
            arrived = await self._as_stored(arrived)
            now = workflow.now()
            new = [ref for ref in arrived if self._thread(ref, now)]
            if new:
                await self._record()

    @workflow.update(name=ADD_INTERACTION)
    async def add_interaction(self, ref: InteractionRef) -> str:
        """Thread an interaction and wait for it to be recorded (callers before signals)."""
        async with self.lock:
            for stored in await self._as_stored([ref]):
                if self._thread(stored, workflow.now()):
                    await self._record()
            return self.state.conversation_id or ""

    async def _as_stored(self, refs: list[InteractionRef]) -> list[InteractionRef]:
        """The interactions as the store records them, this customer's only.

        A signal names an interaction; whoever can signal could also name any address or
        channel, and the next agent reply would go there. So only the id is taken from it.
        Runs before "conversation-facts-from-store" (see `_current`) threaded the signal's ref
        as it came, and still do.
        """
        recent = self.state.recent_interaction_ids
        fresh = [r.interaction_id for r in refs if r.interaction_id not in recent]
        if not fresh or not (self._current() and self.facts_from_store):
            return refs
        loaded = await workflow.execute_local_activity(
            LOAD_INTERACTIONS,
            LoadInteractionsInput(fresh),
            result_type=LoadInteractionsResult,
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        return [ref for ref in loaded.refs if ref.customer_id == self.customer_id]

    def _thread(self, ref: InteractionRef, now: datetime) -> bool:
        """Thread an interaction into the open conversation (opening one if needed).

        False for an interaction already threaded (a redelivered signal or a retried update).
        """
        if ref.interaction_id in self.state.recent_interaction_ids:
            return False
        if ref.direction is Direction.INBOUND:
            self._customer_message(ref, now)
        elif self.state.status is ConversationStatus.OPEN and self.state.first_response_at is None:
            self.state.first_response_at = now
            self._event(EventKind.FIRST_RESPONSE, now, channel=ref.channel)
        state = self.state  # after `_customer_message`: a new conversation replaces the state
        state.interaction_count += 1
        state.last_activity_at = now
        state.recent_interaction_ids = [
            *state.recent_interaction_ids[-(RECENT_INTERACTIONS - 1) :],
            ref.interaction_id,
        ]
        self._event(
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
            )
            self._event(EventKind.OPENED, now, queue=ref.route.queue, channel=ref.channel)
        elif state.status is ConversationStatus.RESOLVED:
            self._reopen(now, reason="customer message")
        state.reply_channel = ref.channel
        state.reply_address = ref.from_address
        state.reply_subject = ref.subject or state.reply_subject

    # --- agent actions ---------------------------------------------------------------------

    @workflow.update(name=ASSIGN)
    async def assign(self, inp: AssignInput) -> ConversationState:
        async with self.lock:
            self.state.assignee = inp.agent
            self._event(EventKind.ASSIGNED, workflow.now(), agent=inp.agent)
            await self._record()
            return self.state

    @assign.validator
    def _validate_assign(self, inp: AssignInput) -> None:
        self._require(ConversationStatus.OPEN, "assign")
        if not inp.agent.strip():
            raise _invalid("an agent is required")

    @workflow.update(name=REPLY)
    async def reply(self, inp: ReplyInput) -> ConversationState:
        """Send the agent's reply on the channel the customer last wrote on."""
        async with self.lock:
            state = self.state
            channel = state.reply_channel or Channel.SMS
            subject = state.reply_subject
            try:
                sent = await workflow.execute_activity(
                    SEND_REPLY,
                    SendReplyInput(
                        outbox_id=str(workflow.uuid4()),
                        conversation_id=state.conversation_id or "",
                        customer_id=self.customer_id,
                        channel=channel,
                        to_address=state.reply_address or "",
                        text=inp.text,
                        subject=None if subject is None else f"Re: {subject.removeprefix('Re: ')}",
                    ),
                    result_type=SendReplyResult,
                    start_to_close_timeout=SEND_TIMEOUT,
                    retry_policy=SEND_RETRY,
                )
            except ActivityError as err:
                # Fails this update (the agent sees why), never the conversation.
                cause = err.cause
                message = cause.message if isinstance(cause, ApplicationError) else str(err)
                raise ApplicationError(message, type=REPLY_FAILED, non_retryable=True) from err
            now = workflow.now()
            if state.first_response_at is None:
                state.first_response_at = now
                self._event(EventKind.FIRST_RESPONSE, now, channel=channel)
            state.interaction_count += 1
            state.last_activity_at = now
            self._event(
                EventKind.INTERACTION,
                now,
                interaction_id=sent.interaction_id,
                channel=channel,
                direction=Direction.OUTBOUND,
            )
            self.threaded.append(sent.interaction_id)
            await self._record()
            return state

    @reply.validator
    def _validate_reply(self, inp: ReplyInput) -> None:
        self._require(ConversationStatus.OPEN, "reply to")
        if not inp.text.strip():
            raise _invalid("a reply needs text")
        if self.state.reply_channel is Channel.PUSH or not self.state.reply_address:
            raise _invalid(f"cannot reply on {self.state.reply_channel or 'no channel'}")

    @workflow.update(name=RESOLVE)
    async def resolve(self, inp: ResolveInput) -> ConversationState:
        async with self.lock:
            self._resolve(workflow.now(), inp.code, EventKind.RESOLVED)
            await self._record()
            return self.state

    @resolve.validator
    def _validate_resolve(self, inp: ResolveInput) -> None:
        self._require(ConversationStatus.OPEN, "resolve")
        if not inp.code.strip():
            raise _invalid("a resolution code is required")

    @workflow.update(name=REOPEN)
    async def reopen(self, inp: ReopenInput) -> ConversationState:
        async with self.lock:
            self._reopen(workflow.now(), reason=inp.reason or "agent")
            await self._record()
            return self.state

    @reopen.validator
    def _validate_reopen(self, inp: ReopenInput) -> None:
        self._require(ConversationStatus.RESOLVED, "reopen")

    @workflow.query
    def current(self) -> ConversationState:
        return self.state

    def _require(self, status: ConversationStatus, action: str) -> None:
        if self.state.status is not status:
            raise _invalid(
                f"cannot {action} a conversation that is {self.state.status or 'not started'}"
            )

    # --- timers ----------------------------------------------------------------------------

    def _next_timer(self) -> tuple[datetime, EventKind] | None:
        state = self.state
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
                seconds=self.policy.auto_resolve_after_s
            )
            timers.append((inactive_until, EventKind.AUTO_RESOLVED))
        return min(timers) if timers else None

    async def _on_timer(self) -> None:
        # Re-read under the lock: an update may have changed what is due.
        due = self._next_timer()
        now = workflow.now()
        if due is None or due[0] > now:
            return
        if due[1] is EventKind.SLA_BREACHED:
            self.state.sla_breached = True
            self._event(EventKind.SLA_BREACHED, now, due_at=due[0].isoformat())
            escalation = self.policy.escalation_queue
            if escalation and escalation != self.state.queue:
                self._event(
                    EventKind.ESCALATED, now, queue_from=self.state.queue, queue_to=escalation
                )
                self.state.queue = escalation
        else:
            self._resolve(now, "auto_resolved", EventKind.AUTO_RESOLVED)
        await self._record()

    # --- state changes -----------------------------------------------------------------------

    def _resolve(self, now: datetime, code: str, kind: EventKind) -> None:
        self.state.status = ConversationStatus.RESOLVED
        self.state.resolved_at = now
        self.state.resolution_code = code
        self._event(kind, now, code=code)

    def _reopen(self, now: datetime, reason: str) -> None:
        self.state.status = ConversationStatus.OPEN
        self.state.resolved_at = None
        self.state.resolution_code = None
        self.state.last_activity_at = now
        self._event(EventKind.REOPENED, now, reason=reason)

    def _event(self, kind: EventKind, at: datetime, **detail: str) -> None:
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
            )
        )

    async def _record(self) -> None:
        events, threaded = self.events, self.threaded
        self.events, self.threaded = [], []
        record = RecordConversationInput(self.customer_id, replace(self.state), events, threaded)
        # A local activity, with slots of its own: interaction workflows wait for this update
        # in `hand_off` activities, and in a burst those held every regular activity slot, so
        # the recording they waited for could never run (until their timeouts).
        if self._current() or workflow.patched("record-conversation-locally"):
            await workflow.execute_local_activity(
                RECORD_CONVERSATION,
                record,
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
        else:
            await workflow.execute_activity(
                RECORD_CONVERSATION,
                record,
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
        indexed = (
            self.state.conversation_id or "",
            self.state.status or "",
            self.state.queue,
            self.state.sla_breached,
        )
        # Patched in: upsert only when an indexed value changed. Most interactions change
        # none, and each upsert is a history event and a visibility write on the server.
        if indexed != self.indexed or not (
            self._current() or workflow.patched("upsert-changed-attributes")
        ):
            workflow.upsert_search_attributes(
                [
                    sa.CUSTOMER_ID.value_set(self.customer_id),
                    sa.CONVERSATION_ID.value_set(indexed[0]),
                    sa.CONVERSATION_STATUS.value_set(indexed[1]),
                    sa.ROUTE_QUEUE.value_set(indexed[2]),
                    sa.SLA_BREACHED.value_set(indexed[3]),
                ]
            )
            self.indexed = indexed
        self.changes += 1
