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
        REOPEN,
        REPLY,
        REPLY_FAILED,
        RESOLVE,
        SEND_REPLY,
        AssignInput,
        Channel,
        ConversationState,
        ConversationStatus,
        ReopenInput,
        ReplyInput,
        ResolveInput,
        SendReplyInput,
        SendReplyResult,
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
        wrote on. The command sequence is the same whatever the channel: no patch."""
        async with self.lock:
            state = self.conversation.state
            channel = inp.channel or state.reply_channel or Channel.SMS
            subject = state.reply_subject
            try:
                sent = await workflow.execute_activity(
                    SEND_REPLY,
                    SendReplyInput(
                        outbox_id=str(workflow.uuid4()),
                        conversation_id=state.conversation_id or "",
                        customer_id=self.conversation.customer_id,
                        channel=channel,
                        to_address=state.reply_address or "",
                        text=inp.text,
                        subject=None if subject is None else f"Re: {subject.removeprefix('Re: ')}",
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
        state = self.conversation.state
        channel = inp.channel or state.reply_channel
        # No address: a withheld caller, whom nobody can answer.
        if channel is Channel.PUSH or not state.reply_address:
            raise invalid(f"cannot reply on {channel or 'no channel'}")

    @workflow.update(name=RESOLVE)
    async def resolve(self, inp: ResolveInput) -> ConversationState:
        async with self.lock:
            self.conversation.resolve(workflow.now(), inp.code, by=inp.actor)
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
