"""thread_interaction and record_conversation: the activities between interactions and
conversations."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from switchboard.contract import (
    CLAIM_INACTIVE,
    LOAD_INTERACTIONS,
    RECORD_CONVERSATION,
    THREAD,
    THREAD_INTERACTION,
    ClaimInactiveInput,
    ClaimInactiveResult,
    ConversationInput,
    ConversationPolicy,
    HandOffInput,
    LoadInteractionsInput,
    LoadInteractionsResult,
    RecordConversationInput,
    ThreadSignal,
    conversation_workflow_id,
)
from switchboard.store import ConversationStore

CONVERSATION_WORKFLOW = "ConversationWorkflow"


class ConversationActivities:
    """Built once in the worker with its Temporal client, conversation store and task queue."""

    def __init__(
        self,
        client: Client,
        store: ConversationStore,
        task_queue: str,
        policy: ConversationPolicy,
    ) -> None:
        self.client = client
        self.store = store
        self.task_queue = task_queue
        # The conversation's timers and windows come from the worker's settings.
        self.policy = policy

    @activity.defn(name=THREAD_INTERACTION)
    async def thread_interaction(self, inp: HandOffInput) -> None:
        """Signal-with-start: hand an interaction to its customer's conversation, not waiting.

        The conversation workflow is started if it is not running. A retry may signal twice;
        the conversation ignores an interaction it has already threaded. A customer merged
        into another since dedupe is the survivor's: it threads into the survivor's workflow.
        """
        customer_id = await asyncio.to_thread(self.store.survivor, inp.customer_id)
        await self.client.start_workflow(
            CONVERSATION_WORKFLOW,
            ConversationInput(customer_id=customer_id, policy=self.policy),
            id=conversation_workflow_id(customer_id),
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal=THREAD,
            start_signal_args=[ThreadSignal(inp.interaction_id)],
            rpc_timeout=timedelta(seconds=10),
        )

    @activity.defn(name=LOAD_INTERACTIONS)
    def load_interactions(self, inp: LoadInteractionsInput) -> LoadInteractionsResult:
        return LoadInteractionsResult(self.store.interaction_refs(inp.interaction_ids))

    @activity.defn(name=CLAIM_INACTIVE)
    def claim_inactive(self, inp: ClaimInactiveInput) -> ClaimInactiveResult:
        return ClaimInactiveResult(self.store.claim_inactive(inp.conversation_id, inp.active_until))

    @activity.defn(name=RECORD_CONVERSATION)
    def record_conversation(self, inp: RecordConversationInput) -> None:
        self.store.record(inp.customer_id, inp.state, inp.events, inp.interaction_ids)
