"""The agent's actions on a conversation, as updates: each caller gets the new state, or the
reason the action was refused (by a validator, before anything enters the history) or failed.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from switchboard.contract import (
        ASSIGN,
        CSAT,
        LABELS,
        REOPEN,
        REPLY,
        REPLY_FAILED,
        RESOLVE,
        SEND_REPLY,
        TRANSFER,
        AssignInput,
        Channel,
        ConversationState,
        ConversationStatus,
        CsatInput,
        LabelsInput,
        ReopenInput,
        ReplyInput,
        ResolveInput,
        SendReplyInput,
        SendReplyResult,
        TransferInput,
    )

from workflows.conversation.state import Conversation, invalid
from workflows.policies import SEND_RETRY, SEND_TIMEOUT


class AgentActions:
    """Mixed into ConversationWorkflow, which holds the conversation and records its changes."""

    conversation: Conversation
    # Updates and timers interleave at awaits; one change is recorded at a time.
    lock: asyncio.Lock

    async def _record(self) -> None:
        raise NotImplementedError

    @workflow.update(name=ASSIGN)
    async def assign(self, inp: AssignInput) -> ConversationState:
        async with self.lock:
            self.conversation.assign(inp.agent, workflow.now(), by=inp.actor)
            await self._record()
            return self.conversation.state

    @assign.validator
    def _validate_assign(self, inp: AssignInput) -> None:
        self.conversation.require(ConversationStatus.OPEN, "assign")
        if not inp.agent.strip():
            raise invalid("an agent is required")

    @workflow.update(name=REPLY)
    async def reply(self, inp: ReplyInput) -> ConversationState:
        """Send the agent's reply on the channel asked for, else the one the customer last
        wrote on. The command sequence is the same whatever the channel: no patch. The address
        and an email's subject are the store's, read by `send_reply` when it sends."""
        async with self.lock:
            state = self.conversation.state
            channel = inp.channel or state.reply_channel or Channel.SMS
            try:
                sent = await workflow.execute_activity(
                    SEND_REPLY,
                    SendReplyInput(
                        outbox_id=str(workflow.uuid4()),
                        conversation_id=state.conversation_id or "",
                        customer_id=self.conversation.customer_id,
                        channel=channel,
                        text=inp.text,
                        template=inp.template,
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
            self.conversation.replied(sent.interaction_id, channel, workflow.now(), by=inp.actor)
            await self._record()
            return self.conversation.state

    @reply.validator
    def _validate_reply(self, inp: ReplyInput) -> None:
        self.conversation.require(ConversationStatus.OPEN, "reply to")
        if not inp.text.strip() and inp.template is None:
            raise invalid("a reply needs text or a template")
        channel = inp.channel or self.conversation.state.reply_channel
        # Nobody answers a push; a customer with no address for the channel (a withheld
        # caller) is refused by the API before this, and by `send_reply` at the latest.
        if channel is None or channel is Channel.PUSH:
            raise invalid(f"cannot reply on {channel or 'no channel'}")

    @workflow.update(name=RESOLVE)
    async def resolve(self, inp: ResolveInput) -> ConversationState:
        async with self.lock:
            self.conversation.resolve(
                workflow.now(), inp.code, by=inp.actor, disposition=inp.disposition
            )
            await self._record()
            return self.conversation.state

    @resolve.validator
    def _validate_resolve(self, inp: ResolveInput) -> None:
        self.conversation.require(ConversationStatus.OPEN, "resolve")
        if not inp.code.strip():
            raise invalid("a resolution code is required")

    @workflow.update(name=REOPEN)
    async def reopen(self, inp: ReopenInput) -> ConversationState:
        async with self.lock:
            self.conversation.reopen(workflow.now(), reason=inp.reason or "agent", by=inp.actor)
            await self._record()
            return self.conversation.state

    @reopen.validator
    def _validate_reopen(self, inp: ReopenInput) -> None:
        self.conversation.require(ConversationStatus.RESOLVED, "reopen")

    # Updates added after the workflow's first release: a history without them replays as
    # before, so they need no patch.

    @workflow.update(name=TRANSFER)
    async def transfer(self, inp: TransferInput) -> ConversationState:
        async with self.lock:
            self.conversation.transfer(inp, workflow.now())
            await self._record()
            return self.conversation.state

    @transfer.validator
    def _validate_transfer(self, inp: TransferInput) -> None:
        self.conversation.require(ConversationStatus.OPEN, "transfer")
        if not (inp.queue or "").strip() and not (inp.agent or "").strip():
            raise invalid("a transfer needs a queue or an agent")

    @workflow.update(name=LABELS)
    async def labels(self, inp: LabelsInput) -> ConversationState:
        async with self.lock:
            self.conversation.label(inp.add, inp.remove, workflow.now(), by=inp.actor)
            await self._record()
            return self.conversation.state

    @labels.validator
    def _validate_labels(self, inp: LabelsInput) -> None:
        if self.conversation.state.status is None:
            raise invalid("cannot label a conversation that is not started")
        if not inp.add and not inp.remove:
            raise invalid("labels to add or remove are required")

    @workflow.update(name=CSAT)
    async def csat(self, inp: CsatInput) -> ConversationState:
        async with self.lock:
            self.conversation.rate(inp.score, inp.comment, workflow.now(), by=inp.actor)
            await self._record()
            return self.conversation.state

    @csat.validator
    def _validate_csat(self, inp: CsatInput) -> None:
        self.conversation.require(ConversationStatus.RESOLVED, "rate")
        if not 1 <= inp.score <= 5:
            raise invalid("a CSAT score is 1 to 5")
