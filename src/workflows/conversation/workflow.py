"""ConversationWorkflow: one entity workflow per customer, holding their open conversation.

Interactions arrive as signals (signal-with-start from InteractionWorkflow), threaded in
batches: those that arrived together are one store write. Agent actions arrive as updates
(`actions`), so each caller gets the result or a validation error. Durable timers (`timers`)
watch the SLA targets (`sla`) and inactivity. Every state change becomes an event in the store
(`state`). The history continues as new before it grows large, carrying the state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from switchboard import search_attributes as sa
    from switchboard.contract import (
        ADD_INTERACTION,
        CLAIM_INACTIVE,
        LOAD_INTERACTIONS,
        RECORD_CONVERSATION,
        THREAD,
        Channel,
        ClaimInactiveInput,
        ClaimInactiveResult,
        ConversationInput,
        ConversationState,
        Direction,
        InteractionRef,
        LoadInteractionsInput,
        LoadInteractionsResult,
        Route,
    )

from workflows.conversation import timers
from workflows.conversation.actions import AgentActions
from workflows.conversation.state import Conversation
from workflows.patches import (
    CONVERSATION_FACTS_FROM_STORE,
    CONVERSATION_ONE_PATCH,
    CONVERSATION_SLA_POLICIES,
    CONVERSATION_STORE_THREADING,
    KEEP_EARLIER_TIMER,
    RECORD_CONVERSATION_LOCALLY,
    UPSERT_CHANGED_ATTRIBUTES,
)
from workflows.policies import STORE_RETRY, STORE_TIMEOUT


@dataclass
class _Signalled:
    """The `thread` signal as this workflow reads it: the interaction's id (`ThreadSignal`,
    all a signal carries now), and, in histories recorded before signals carried ids only, the
    facts the code path before `CONVERSATION_FACTS_FROM_STORE` threads as they came."""

    interaction_id: str
    customer_id: str = ""
    channel: Channel | None = None
    direction: Direction | None = None
    route: Route | None = None

    def ref(self) -> InteractionRef | None:
        if self.channel is None or self.direction is None or self.route is None:
            return None
        return InteractionRef(
            self.interaction_id, self.customer_id, self.channel, self.direction, self.route
        )


# Not sandboxed, as InteractionWorkflow (see there): it handles a signal per message.
@workflow.defn(sandboxed=False)
class ConversationWorkflow(AgentActions):
    @workflow.init
    def __init__(self, inp: ConversationInput) -> None:
        # Set here, not in run: with update-with-start the update handler runs first.
        self.conversation = Conversation(inp.customer_id, inp.policy, inp.state)
        # Interactions signalled and not yet threaded, in arrival order.
        self.arrived: list[_Signalled] = []
        self.changes = 0
        # The search attributes last upserted (none yet in this run).
        self.indexed: tuple[str, str, str | None, bool] | None = None
        self.lock = asyncio.Lock()
        self.deadline = timers.Deadline()
        self.one_patch: bool | None = None
        self.facts_from_store = False
        self.store_threading = False
        # The release this run started on (Worker Versioning; deterministic: replay reads it
        # from the history).
        self.started_on = workflow.info().get_current_deployment_version()

    @workflow.run
    async def run(self, inp: ConversationInput) -> None:
        if not self._current():
            workflow.deprecate_patch(KEEP_EARLIER_TIMER.id)
        conversation = self.conversation
        while True:
            await self._thread_arrived()
            # Checked after threading: signals lengthen the history without waking the loop
            # again once threaded.
            policy = conversation.policy
            # A newer release is current (a rolling release): the next run starts there.
            released = workflow.info().is_target_worker_deployment_version_changed()
            if (
                workflow.info().get_current_history_length() > policy.max_history_events
                or released
                or self._moved()
            ):
                await workflow.wait_condition(workflow.all_handlers_finished)
                # Signals that came while the updates finished go with this run, not the next.
                await self._thread_arrived()
                workflow.continue_as_new(
                    ConversationInput(conversation.customer_id, policy, conversation.state),
                    initial_versioning_behavior=(
                        workflow.ContinueAsNewVersioningBehavior.AUTO_UPGRADE if released else None
                    ),
                )
            seen = self.changes
            due = timers.next_due(conversation)
            self.deadline.arm(None if due is None else due[0])
            await workflow.wait_condition(
                lambda seen=seen: (  # type: ignore[misc]
                    self.changes != seen or bool(self.arrived) or self.deadline.passed()
                )
            )
            if self.deadline.fired():
                # Re-checked under the lock: an update may have changed what is due.
                async with self.lock:
                    now = workflow.now()
                    if await self._active_in_store(now):
                        continue  # re-armed to the newer activity
                    if timers.apply_due(conversation, now):
                        await self._record()

    async def _active_in_store(self, now: datetime) -> bool:
        """Whether a message threaded by its persist step (`store.conversation_threading`)
        kept the conversation active past the inactivity it is about to auto-resolve for.

        Asked in the store (`claim_inactive`), which resolves it there in the same step if
        not: a message persisted after that is signalled (and reopens it), never threaded into
        a conversation resolving at that moment. True: the last activity is the store's now.
        """
        state = self.conversation.state
        due = timers.next_due(self.conversation)
        if (
            not self.store_threading
            or due is None
            or due[0] > now
            or due[1] != timers.INACTIVITY
            or state.conversation_id is None
            or state.last_activity_at is None
        ):
            return False
        claimed = await workflow.execute_local_activity(
            CLAIM_INACTIVE,
            ClaimInactiveInput(state.conversation_id, state.last_activity_at),
            result_type=ClaimInactiveResult,
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        if claimed.last_activity_at is None:
            return False
        state.last_activity_at = claimed.last_activity_at
        return True

    def _moved(self) -> bool:
        """Whether this run is on another release than it started on (`switchboard up` moved
        it, or it started before Worker Versioning): it continues as new there, so a patch
        need only live as long as one run of the release before it (`workflows.patches`)."""
        return workflow.info().get_current_deployment_version() != self.started_on

    def _current(self) -> bool:
        """Whether this run started on the current code (`CONVERSATION_ONE_PATCH`).

        A new run asks this patch alone: each patch asked is a marker and an upsert of
        `TemporalChangeVersion` per run, continued runs included. A history recorded before it
        carries the markers of the three deprecated patches, matched where they were asked.
        Asked at first need, which may be an update handler running before `run`.
        `CONVERSATION_STORE_THREADING` is the current path now: this one, the store read of
        `_as_stored` (`CONVERSATION_FACTS_FROM_STORE`), the SLA policies
        (`CONVERSATION_SLA_POLICIES`) and the inactivity re-read of `_active_in_store`; a run
        that took an earlier one keeps its path without what came after it.
        """
        if self.one_patch is None:
            self.store_threading = workflow.patched(CONVERSATION_STORE_THREADING.id)
            sla_policies = self.store_threading or workflow.patched(CONVERSATION_SLA_POLICIES.id)
            self.conversation.sla_policies = sla_policies
            self.facts_from_store = sla_policies or workflow.patched(
                CONVERSATION_FACTS_FROM_STORE.id
            )
            self.one_patch = self.facts_from_store or workflow.patched(CONVERSATION_ONE_PATCH.id)
        return self.one_patch

    @workflow.signal(name=THREAD)
    def thread(self, signal: _Signalled) -> None:
        """An interaction to thread, by id (`ThreadSignal`); the run loop threads what arrived,
        in one store write."""
        self.arrived.append(signal)

    async def _thread_arrived(self) -> None:
        if not self.arrived:
            return
        async with self.lock:
            arrived, self.arrived = self.arrived, []
            refs = await self._as_stored(arrived)
            now = workflow.now()
            new = [ref for ref in refs if self.conversation.thread(ref, now)]
            if new:
                await self._record()

    @workflow.update(name=ADD_INTERACTION)
    async def add_interaction(self, ref: InteractionRef) -> str:
        """Thread an interaction and wait for it to be recorded (callers before signals)."""
        async with self.lock:
            for stored in await self._as_stored([ref]):
                if self.conversation.thread(stored, workflow.now()):
                    await self._record()
            return self.conversation.state.conversation_id or ""

    async def _as_stored(
        self, arrived: Sequence[_Signalled | InteractionRef]
    ) -> list[InteractionRef]:
        """The interactions as the store records them, this customer's only.

        A signal names an interaction; whoever can signal could also name any address or
        channel, and the next agent reply would go there. So only the id is taken from it.
        Runs before `CONVERSATION_FACTS_FROM_STORE` (see `_current`) thread the signal's ref
        as it came, and still do.
        """
        recent = self.conversation.state.recent_interaction_ids
        fresh = [item.interaction_id for item in arrived if item.interaction_id not in recent]
        if not fresh:
            return []
        if not (self._current() and self.facts_from_store):
            refs = [item.ref() if isinstance(item, _Signalled) else item for item in arrived]
            return [ref for ref in refs if ref is not None]
        loaded = await workflow.execute_local_activity(
            LOAD_INTERACTIONS,
            LoadInteractionsInput(fresh),
            result_type=LoadInteractionsResult,
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        return [ref for ref in loaded.refs if ref.customer_id == self.conversation.customer_id]

    @workflow.query
    def current(self) -> ConversationState:
        return self.conversation.state

    async def _record(self) -> None:
        record = self.conversation.take_changes()
        # A local activity, with slots of its own: interaction workflows wait for this update
        # in `hand_off` activities, and in a burst those held every regular activity slot, so
        # the recording they waited for could never run (until their timeouts).
        if not self._current():
            workflow.deprecate_patch(RECORD_CONVERSATION_LOCALLY.id)
        await workflow.execute_local_activity(
            RECORD_CONVERSATION,
            record,
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        state = self.conversation.state
        indexed = (state.conversation_id or "", state.status or "", state.queue, state.sla_breached)
        # Upserted only when an indexed value changed. Most interactions change none, and each
        # upsert is a history event and a visibility write on the server.
        changed = indexed != self.indexed
        if not changed and not self._current():
            workflow.deprecate_patch(UPSERT_CHANGED_ATTRIBUTES.id)
        if changed:
            workflow.upsert_search_attributes(
                [
                    sa.CUSTOMER_ID.value_set(self.conversation.customer_id),
                    sa.CONVERSATION_ID.value_set(indexed[0]),
                    sa.CONVERSATION_STATUS.value_set(indexed[1]),
                    sa.ROUTE_QUEUE.value_set(indexed[2]),
                    sa.SLA_BREACHED.value_set(indexed[3]),
                ]
            )
            self.indexed = indexed
        self.changes += 1
