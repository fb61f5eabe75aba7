"""InteractionWorkflow: one inbound provider message, from verified webhook to stored interaction.

normalize → dedupe → route → persist → thread into the customer's conversation. Every step is
a local activity (a marker in the history, no activity task of its own), so a message is one
workflow task; the steps that touch the store retry with backoff until it is back. A message
whose files are still at Twilio (MMS media, a recording) then copies them with the regular
activity `copy_media`. The patches it asks are in `workflows.patches`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from switchboard import search_attributes as sa
    from switchboard.contract import (
        AWAITING_INTERACTION,
        COPY_MEDIA,
        DEDUPE,
        DEFAULT_ORPHAN_WAIT_S,
        HAND_OFF,
        MALFORMED_PAYLOAD,
        NORMALIZE,
        ORPHANED,
        PERSIST,
        RECORD_FAILURE,
        ROUTE,
        THREAD_INTERACTION,
        UNSTORABLE,
        CopyMediaInput,
        CopyMediaResult,
        CustomerInteraction,
        DedupeInput,
        DedupeResult,
        Direction,
        FailureInput,
        HandOffInput,
        InteractionInput,
        InteractionRef,
        InteractionResult,
        NormalizedInteraction,
        PersistInput,
        PersistResult,
        Route,
        RouteInput,
        Status,
    )

from workflows.patches import (
    CONVERSATION_HANDOFF,
    INTERACTION_LIFECYCLE,
    LOCAL_STORE_STEPS,
    MEDIA_COPIES,
    ONE_WORKFLOW_TASK,
    ORPHAN_CALLBACK_WAIT,
)
from workflows.policies import (
    AWAITING_RETRY,
    HAND_OFF_TIMEOUT,
    LOCAL_TIMEOUT,
    MEDIA_RETRY,
    MEDIA_TIMEOUT,
    ORPHAN_MAX_DELAY,
    STORE_RETRY,
    STORE_TIMEOUT,
)

T = TypeVar("T")


# Not sandboxed: the sandbox re-imported this module for every message, and ran each payload's
# serialization context through `exec` of a code string; with the conversation, that was a
# quarter of the worker's busy time (py-spy, `switchboard bench`). This module does no I/O and
# reads no clock or randomness but Temporal's; the replay test holds it to that.
@workflow.defn(sandboxed=False)
class InteractionWorkflow:
    @workflow.run
    async def run(self, inp: InteractionInput) -> InteractionResult:
        # One workflow task per message: every step a local activity, the conversation
        # signalled, one upsert at the end. Without the patch (histories recorded before it):
        # the conversation threads by update, and the search attributes are upserted twice.
        # The life cycle's patch stands for ONE_WORKFLOW_TASK's path too (one marker a run),
        # and the media copies' for the life cycle's.
        self.media = workflow.patched(MEDIA_COPIES.id)
        self.lifecycle = self.media or workflow.patched(INTERACTION_LIFECYCLE.id)
        self.one_task = self.lifecycle or workflow.patched(ONE_WORKFLOW_TASK.id)
        if not self.one_task:
            workflow.deprecate_patch(LOCAL_STORE_STEPS.id)
        try:
            draft = await workflow.execute_local_activity(
                NORMALIZE,
                inp,
                result_type=NormalizedInteraction,
                start_to_close_timeout=LOCAL_TIMEOUT,
            )
        except (ActivityError, ApplicationError) as err:
            # A payload that cannot be parsed is archived with the reason before the workflow
            # fails, so nothing a provider delivered is lost.
            reason = _reason(err)
            await self._fail(inp, reason)
            raise ApplicationError(reason, type=MALFORMED_PAYLOAD, non_retryable=True) from err

        dedupe_input = DedupeInput(
            draft.provider,
            draft.provider_message_id,
            draft.customer_identity,
            draft.linked_identities,
        )
        # Patched in (ORPHAN_CALLBACK_WAIT): a callback for an interaction never seen waits a
        # bounded time, then is kept as orphaned. Asked only for such callbacks, so no other
        # history gets its marker.
        if draft.customer_identity is None and workflow.patched(ORPHAN_CALLBACK_WAIT.id):
            found = await self._await_interaction(dedupe_input, inp.orphan_wait_s)
            if found is None:
                return await self._orphan(inp, draft)
            dedupe = found
        else:
            dedupe = await self._store_step(inp, DEDUPE, dedupe_input, DedupeResult)
        if self.media:
            # Indexed as soon as it is known: a run that fails or is stuck from here on is
            # found (and deleted) by the customer's erasure too.
            workflow.upsert_search_attributes([sa.CUSTOMER_ID.value_set(dedupe.customer_id)])

        route = await workflow.execute_local_activity(
            ROUTE,
            RouteInput(draft.channel, draft.received_at, draft.content, draft.from_address),
            result_type=Route,
            start_to_close_timeout=LOCAL_TIMEOUT,
        )
        if not self.one_task:
            # One upsert for what the local steps found: they share one workflow task.
            workflow.upsert_search_attributes(
                [
                    sa.CUSTOMER_ID.value_set(dedupe.customer_id),
                    sa.ROUTE_QUEUE.value_set(route.queue),
                    sa.INTERACTION_STATUS.value_set(Status.PROCESSING),
                ]
            )

        interaction = draft.complete(
            # An interaction id is assigned once: a redelivery after Temporal's retention
            # finds the stored one instead of minting another.
            interaction_id=dedupe.existing_interaction_id or str(workflow.uuid4()),
            customer_id=dedupe.customer_id,
            route=route,
            # An inbound one is on its way to its conversation, which completes it.
            status=Status.PROCESSING
            if self.lifecycle and draft.direction is Direction.INBOUND
            else Status.COMPLETED,
        )
        persisted = await self._store_step(
            inp,
            PERSIST,
            PersistInput(interaction, inp.raw, rederive=inp.reprocess),
            PersistResult,
            interaction,
        )
        conversation_id = None
        if not self.one_task:
            workflow.deprecate_patch(CONVERSATION_HANDOFF.id)
        # Replay-safe without a patch: histories recorded before `awaiting_thread` existed
        # decode it as False, so they issue the same commands as before.
        handing_off = persisted.created or persisted.awaiting_thread
        if handing_off and draft.direction is Direction.INBOUND:
            hand_off = HandOffInput(
                InteractionRef(
                    interaction_id=persisted.interaction_id,
                    customer_id=dedupe.customer_id,
                    channel=draft.channel,
                    direction=draft.direction,
                    from_address=draft.from_address,
                    route=route,
                    subject=draft.content.subject,
                )
            )
            # A signal (signal-with-start) from a local activity, not an update waited for in
            # a regular one (two workflow tasks and an activity task): the conversation threads
            # the interaction a moment later and sets its conversation_id in the store.
            if self.one_task:
                await workflow.execute_local_activity(
                    THREAD_INTERACTION,
                    hand_off,
                    start_to_close_timeout=LOCAL_TIMEOUT,
                    retry_policy=STORE_RETRY,
                )
            else:
                conversation_id = await self._hand_off(hand_off)
        if self.media and persisted.media_to_copy:
            await self._copy_media(persisted.interaction_id)
        completed = [sa.INTERACTION_STATUS.value_set(Status.COMPLETED)]
        if self.media:
            completed.insert(0, sa.ROUTE_QUEUE.value_set(route.queue))
        elif self.one_task:
            completed[:0] = [
                sa.CUSTOMER_ID.value_set(dedupe.customer_id),
                sa.ROUTE_QUEUE.value_set(route.queue),
            ]
        elif conversation_id is not None:
            # One upsert, one visibility write, for the end of the run.
            completed.insert(0, sa.CONVERSATION_ID.value_set(conversation_id))
        workflow.upsert_search_attributes(completed)
        return InteractionResult(
            interaction_id=persisted.interaction_id,
            customer_id=dedupe.customer_id,
            created=persisted.created,
            conversation_id=conversation_id,
        )

    async def _copy_media(self, interaction_id: str) -> None:
        """Copy the interaction's files at Twilio into the blob store (a regular activity: a
        download can take a while, and retries back off for about an hour).

        A file gone for good is recorded by the activity; one still failing after the retries
        stays at Twilio, named by its row, and the interaction stands without the copy.
        """
        try:
            await workflow.execute_activity(
                COPY_MEDIA,
                CopyMediaInput(interaction_id),
                result_type=CopyMediaResult,
                start_to_close_timeout=MEDIA_TIMEOUT,
                retry_policy=MEDIA_RETRY,
            )
        except ActivityError as err:
            workflow.logger.warning("media of %s not copied: %s", interaction_id, _reason(err))

    async def _await_interaction(
        self, inp: DedupeInput, wait_s: float | None
    ) -> DedupeResult | None:
        """Dedupe, retried on timers (not in a local activity's loop, whose heartbeats would
        fill the history for a day) until the interaction is stored or `wait_s` has passed;
        None then."""
        deadline = workflow.now() + timedelta(seconds=wait_s or DEFAULT_ORPHAN_WAIT_S)
        delay = timedelta(seconds=1)
        while True:
            try:
                return await workflow.execute_local_activity(
                    DEDUPE,
                    inp,
                    result_type=DedupeResult,
                    start_to_close_timeout=STORE_TIMEOUT,
                    retry_policy=AWAITING_RETRY,
                )
            except (ActivityError, ApplicationError) as err:
                cause = err.cause if isinstance(err, ActivityError) else err
                if not (isinstance(cause, ApplicationError) and cause.type == AWAITING_INTERACTION):
                    raise
            remaining = deadline - workflow.now()
            if remaining <= timedelta(0):
                return None
            await workflow.sleep(min(delay, remaining))
            delay = min(delay * 2, ORPHAN_MAX_DELAY)

    async def _orphan(
        self, inp: InteractionInput, draft: NormalizedInteraction
    ) -> InteractionResult:
        """Keep the raw event as orphaned, with the reason, and complete: no longer backlog."""
        workflow.upsert_search_attributes([sa.INTERACTION_STATUS.value_set(ORPHANED)])
        reason = (
            f"{AWAITING_INTERACTION}: orphaned, {draft.provider} "
            f"{draft.provider_message_id} never arrived"
        )
        await workflow.execute_activity(
            RECORD_FAILURE,
            FailureInput(inp.raw, reason),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        return InteractionResult(interaction_id="", customer_id="", created=False, orphaned=True)

    async def _store_step(
        self,
        inp: InteractionInput,
        name: str,
        arg: Any,
        result_type: type[T],
        interaction: CustomerInteraction | None = None,
    ) -> T:
        """A store step; one whose values the store refuses for good fails the workflow."""
        try:
            return await self._step(name, arg, result_type)
        except (ActivityError, ApplicationError) as err:
            cause = err.cause if isinstance(err, ActivityError) else err
            if not (
                self.lifecycle and isinstance(cause, ApplicationError) and cause.type == UNSTORABLE
            ):
                raise
            reason = _reason(err)
            await self._fail(inp, reason, interaction)
            raise ApplicationError(reason, type=UNSTORABLE, non_retryable=True) from err

    async def _step(self, name: str, arg: Any, result_type: type[T]) -> T:
        """A step that touches the store: retried with backoff until the store is back."""
        return await workflow.execute_local_activity(
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )

    async def _hand_off(self, inp: HandOffInput) -> str:
        """Thread by update, waiting for the conversation id (histories before signals)."""
        # A regular activity: it waits for the conversation, whose own record step is a local
        # activity; were the hand-off one too, a burst of hand-offs for one customer could
        # hold every local-activity slot and starve that step.
        conversation_id: str = await workflow.execute_activity(
            HAND_OFF,
            inp,
            result_type=str,
            start_to_close_timeout=HAND_OFF_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        return conversation_id

    async def _fail(
        self, inp: InteractionInput, reason: str, interaction: CustomerInteraction | None = None
    ) -> None:
        # Set before the activity: attributes upserted in the task that fails the workflow are
        # dropped with it.
        workflow.upsert_search_attributes([sa.INTERACTION_STATUS.value_set(Status.FAILED)])
        await workflow.execute_activity(
            RECORD_FAILURE,
            FailureInput(inp.raw, reason, interaction),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )


def _reason(err: ActivityError | ApplicationError) -> str:
    # A failed local activity surfaces as its own ApplicationError, a regular one wrapped in
    # an ActivityError.
    cause = err.cause if isinstance(err, ActivityError) else err
    return cause.message if isinstance(cause, ApplicationError) else str(err)
