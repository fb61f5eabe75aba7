"""InteractionWorkflow: one inbound provider message, from verified webhook to stored interaction.

normalize → dedupe → route → persist → thread into the customer's conversation. Every step is
a local activity (a marker in the history, no activity task of its own), so a message is one
workflow task; the steps that touch the store retry with backoff until it is back. A message
whose files are still at Twilio (MMS media, a recording) then copies them with the regular
activity `copy_media`. Pinned to the release it started on (Worker Versioning,
`runtime.versions`): a change to it needs no patch.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from switchboard import search_attributes as sa
    from switchboard.contract import (
        AWAITING_INTERACTION,
        COPY_MEDIA,
        DEDUPE,
        DEFAULT_ORPHAN_WAIT_S,
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
        InteractionResult,
        NormalizedInteraction,
        PersistInput,
        PersistResult,
        Route,
        RouteInput,
        Status,
    )

from workflows.policies import (
    AWAITING_RETRY,
    LOCAL_TIMEOUT,
    MEDIA_RETRY,
    MEDIA_TIMEOUT,
    ONE_ATTEMPT,
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
    def __init__(self) -> None:
        # The customer once dedupe knows it, and whether `CustomerId` is upserted yet.
        self.customer_id: str | None = None
        self.customer_indexed = False

    @workflow.run
    async def run(self, inp: InteractionInput) -> InteractionResult:
        draft = await self._normalize(inp)
        dedupe_input = DedupeInput(
            draft.provider,
            draft.provider_message_id,
            draft.customer_identity,
            draft.linked_identities,
        )
        if draft.customer_identity is None:
            # A callback (a recording, a transcription) for an interaction maybe not stored yet
            # waits for it a bounded time, then is kept as orphaned.
            found = await self._await_interaction(dedupe_input, inp.orphan_wait_s)
            if found is None:
                return await self._orphan(inp, draft)
            dedupe = found
        else:
            dedupe = await self._store_step(inp, DEDUPE, dedupe_input, DedupeResult)
        self.customer_id = dedupe.customer_id

        route = await workflow.execute_local_activity(
            ROUTE,
            RouteInput(draft.channel, draft.received_at, draft.content, draft.from_address),
            result_type=Route,
            start_to_close_timeout=LOCAL_TIMEOUT,
        )
        inbound = draft.direction is Direction.INBOUND
        interaction = draft.complete(
            # An interaction id is assigned once: a redelivery after Temporal's retention
            # finds the stored one instead of minting another.
            interaction_id=dedupe.existing_interaction_id or str(workflow.uuid4()),
            customer_id=dedupe.customer_id,
            route=route,
            # An inbound one is on its way to its conversation, which completes it.
            status=Status.PROCESSING if inbound else Status.COMPLETED,
        )
        persist = PersistInput(interaction, inp.raw, rederive=inp.reprocess)
        persisted = await self._store_step(inp, PERSIST, persist, PersistResult, interaction)
        # Threaded by persist (`PersistResult.threaded_into`: the thread decision, shown as
        # the persist step's result) unless it changes its conversation's state or clocks.
        if (
            inbound
            and (persisted.created or persisted.awaiting_thread)
            and not persisted.threaded_into
        ):
            await self._thread(persisted.interaction_id, dedupe.customer_id)
        if persisted.media_to_copy:
            self._index_customer()  # a download may take a while: erasure must find the run
            await self._copy_media(persisted.interaction_id)
        # The run's one visibility write (the starter set provider, channel and `received`).
        workflow.upsert_search_attributes(
            [
                *self._unindexed_customer(),
                sa.ROUTE_QUEUE.value_set(route.queue),
                sa.INTERACTION_STATUS.value_set(Status.COMPLETED),
            ]
        )
        return InteractionResult(
            interaction_id=persisted.interaction_id,
            customer_id=dedupe.customer_id,
            created=persisted.created,
        )

    async def _normalize(self, inp: InteractionInput) -> NormalizedInteraction:
        """A payload that cannot be parsed is archived with the reason before the workflow
        fails, so nothing a provider delivered is lost."""
        try:
            draft: NormalizedInteraction = await workflow.execute_local_activity(
                NORMALIZE,
                inp,
                result_type=NormalizedInteraction,
                start_to_close_timeout=LOCAL_TIMEOUT,
            )
        except (ActivityError, ApplicationError) as err:
            reason = _reason(err)
            await self._fail(inp, reason)
            raise ApplicationError(reason, type=MALFORMED_PAYLOAD, non_retryable=True) from err
        return draft

    async def _thread(self, interaction_id: str, customer_id: str) -> None:
        """Signal (signal-with-start, from a local activity) the customer's conversation, which
        threads the interaction a moment later and sets its conversation_id in the store. The
        signal names the interaction alone: the conversation reads the rest from the store."""
        await workflow.execute_local_activity(
            THREAD_INTERACTION,
            HandOffInput(interaction_id, customer_id),
            start_to_close_timeout=LOCAL_TIMEOUT,
            retry_policy=STORE_RETRY,
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
            if not (isinstance(cause, ApplicationError) and cause.type == UNSTORABLE):
                raise
            reason = _reason(err)
            await self._fail(inp, reason, interaction)
            raise ApplicationError(reason, type=UNSTORABLE, non_retryable=True) from err

    async def _step(self, name: str, arg: Any, result_type: type[T]) -> T:
        """A step that touches the store: retried with backoff until the store is back.

        Once the customer is known, a first attempt that fails indexes the run by them
        (`CustomerId`) before it retries: a run waiting for the store holds the message, and
        the customer's erasure finds (and deletes) the runs it must by that attribute. A run
        whose steps succeed is indexed once, at its end, with everything else.
        """
        if self.customer_id is None or self.customer_indexed:
            return await self._local(name, arg, result_type, STORE_RETRY)
        try:
            return await self._local(name, arg, result_type, ONE_ATTEMPT)
        except (ActivityError, ApplicationError) as err:
            cause = err.cause if isinstance(err, ActivityError) else err
            if isinstance(cause, ApplicationError) and cause.non_retryable:
                raise
            self._index_customer()
            return await self._local(name, arg, result_type, STORE_RETRY)

    async def _local(self, name: str, arg: Any, result_type: type[T], retry: RetryPolicy) -> T:
        return await workflow.execute_local_activity(
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=retry,
        )

    def _index_customer(self) -> None:
        pairs = self._unindexed_customer()
        if pairs:
            workflow.upsert_search_attributes(pairs)

    def _unindexed_customer(self) -> list[SearchAttributeUpdate[Any]]:
        """`CustomerId`, once, if the customer is known."""
        if self.customer_id is None or self.customer_indexed:
            return []
        self.customer_indexed = True
        return [sa.CUSTOMER_ID.value_set(self.customer_id)]

    async def _fail(
        self, inp: InteractionInput, reason: str, interaction: CustomerInteraction | None = None
    ) -> None:
        # Set before the activity: attributes upserted in the task that fails the workflow are
        # dropped with it.
        workflow.upsert_search_attributes(
            [*self._unindexed_customer(), sa.INTERACTION_STATUS.value_set(Status.FAILED)]
        )
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
