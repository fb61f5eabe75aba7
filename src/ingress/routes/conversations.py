"""Conversations: read them, and act on them as an agent (Temporal updates on the entity)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field, model_validator
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from ingress.auth import Agent, Permission, require
from ingress.deps import ClockDep, StoreDep, TemporalDep
from switchboard.contract import (
    ASSIGN,
    INVALID_ACTION,
    REOPEN,
    REPLY,
    REPLY_FAILED,
    RESOLVE,
    AssignInput,
    Channel,
    ConversationState,
    ReopenInput,
    ReplyInput,
    ReplyTemplate,
    ResolveInput,
    conversation_workflow_id,
)
from switchboard.replies import no_address, reply_address, window_closed, window_open
from switchboard.store import ConversationStore, Store

router = APIRouter(prefix="/api/conversations", tags=["conversations"])
READ = [Depends(require(Permission.READ))]


def get_conversations(request: Request) -> ConversationStore:
    return ConversationStore(request.app.state.store.engine)


ConversationsDep = Annotated[ConversationStore, Depends(get_conversations)]


class ConversationEventOut(BaseModel):
    kind: str
    at: datetime
    detail: dict[str, Any]
    actor: str | None = Field(
        description="who caused it (`key:<name>`, `oidc:<sub>`); null for the customer's "
        "messages and timers"
    )


class Conversation(BaseModel):
    conversation_id: str
    customer_id: str
    status: str
    queue: str
    priority: int
    assignee: str | None
    opened_at: datetime
    first_response_due_at: datetime | None
    first_response_at: datetime | None
    sla_breached: bool
    resolved_at: datetime | None
    resolution_code: str | None
    updated_at: datetime


class ConversationDetail(Conversation):
    events: list[ConversationEventOut]
    interaction_ids: list[str]


class AssignBody(BaseModel):
    agent: str | None = Field(
        default=None, min_length=1, max_length=128, description="default: the caller"
    )


class TemplateBody(BaseModel):
    content_sid: str = Field(
        pattern=r"^HX[0-9a-fA-F]{32}$", description="the approved template's Content SID"
    )
    variables: dict[str, Annotated[str, Field(max_length=1024)]] = Field(
        default_factory=dict, max_length=100, description='placeholder values: {"1": "Amelia"}'
    )


class ReplyBody(BaseModel):
    text: str | None = Field(default=None, min_length=1, max_length=1600)
    channel: Literal["sms", "whatsapp", "email"] | None = Field(
        default=None, description="default: the channel of the customer's latest message"
    )
    template: TemplateBody | None = Field(
        default=None,
        description="a WhatsApp template instead of text (outside WhatsApp's 24-hour window)",
    )

    @model_validator(mode="after")
    def _text_or_template(self) -> ReplyBody:
        if (self.text is None) == (self.template is None):
            raise ValueError("give exactly one of text or template")
        return self


class ResolveBody(BaseModel):
    code: str = Field(min_length=1, max_length=64, description="resolution code, e.g. answered")


class ReopenBody(BaseModel):
    reason: str = Field(default="", max_length=256)


@router.get("", response_model=list[Conversation], dependencies=READ)
def list_conversations(
    conversations: ConversationsDep,
    status_: Annotated[str | None, Query(alias="status", pattern="^(open|resolved)$")] = None,
    queue: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Conversation]:
    """A queue view: conversations by status and queue, oldest opened first."""
    return [Conversation.model_validate(row) for row in conversations.list(status_, queue, limit)]


@router.get("/{conversation_id}", response_model=ConversationDetail, dependencies=READ)
def get_conversation(conversation_id: str, conversations: ConversationsDep) -> ConversationDetail:
    """The conversation, its state changes (oldest first) and its interactions."""
    found = conversations.get(conversation_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown conversation")
    return ConversationDetail.model_validate(found)


async def _act(
    conversations: ConversationStore,
    temporal: TemporalDep,
    conversation_id: str,
    update: str,
    arg: object,
) -> ConversationDetail:
    found = conversations.get(conversation_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown conversation")
    # After a merge, a conversation may be held by the merged customer's workflow.
    handle = temporal.get_workflow_handle(conversation_workflow_id(found["workflow_customer_id"]))
    try:
        state: ConversationState = await handle.execute_update(
            update, arg, result_type=ConversationState, rpc_timeout=timedelta(seconds=30)
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == INVALID_ACTION:
            raise HTTPException(status.HTTP_409_CONFLICT, cause.message) from exc
        if isinstance(cause, ApplicationError) and cause.type == REPLY_FAILED:
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, cause.message) from exc
        raise
    except RPCError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "conversation service unavailable",
            headers={"Retry-After": "5"},
        ) from exc
    if state.conversation_id != conversation_id:
        # The customer has moved on to a newer conversation; this one is history.
        raise HTTPException(status.HTTP_409_CONFLICT, "this conversation is no longer current")
    updated = conversations.get(conversation_id)
    return ConversationDetail.model_validate(updated)


@router.post("/{conversation_id}/assign", response_model=ConversationDetail)
async def assign(
    conversation_id: str,
    body: AssignBody,
    conversations: ConversationsDep,
    temporal: TemporalDep,
    caller: Agent,
) -> ConversationDetail:
    """Assign the conversation to an agent; without one, to the caller."""
    agent = body.agent or caller.actor
    update = AssignInput(agent, actor=caller.actor)
    return await _act(conversations, temporal, conversation_id, ASSIGN, update)


@router.post(
    "/{conversation_id}/reply",
    response_model=ConversationDetail,
    responses={
        409: {
            "description": "the conversation does not take this reply: not open, nobody to "
            "answer (a withheld caller), or outside WhatsApp's 24-hour window"
        },
        502: {"description": "the provider did not take the message; the reason says why"},
    },
)
async def reply(
    conversation_id: str,
    body: ReplyBody,
    conversations: ConversationsDep,
    store: StoreDep,
    temporal: TemporalDep,
    clock: ClockDep,
    caller: Agent,
) -> ConversationDetail:
    """Reply to the customer on the channel named, else the one they last wrote on (SMS for
    calls). A free-form WhatsApp message more than 24 hours after the customer's last one is
    409: WhatsApp takes only an approved template then."""
    found = conversations.get(conversation_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown conversation")
    now = datetime.fromtimestamp(clock(), UTC)
    channel = _checked_channel(store, found["customer_id"], body, now)
    template = (
        None
        if body.template is None
        else ReplyTemplate(body.template.content_sid, dict(body.template.variables))
    )
    update = ReplyInput(body.text or "", actor=caller.actor, channel=channel, template=template)
    return await _act(conversations, temporal, conversation_id, REPLY, update)


def _checked_channel(
    store: Store, customer_id: str, body: ReplyBody, now: datetime
) -> Channel | None:
    """The channel the reply goes out on, or 409 with the reason it cannot.

    The one named, else the customer's latest message's (the store's: fresher than the
    conversation's own record of it). For a customer who never wrote (None unless named) and
    for push, the conversation decides, and refuses push with its reason.
    """
    last = store.last_inbound(customer_id)
    named = Channel(body.channel) if body.channel else None
    if last is None:
        return named
    channel = named or last.channel
    if channel is Channel.PUSH:
        return channel
    customer = store.get_customer(customer_id) or {"identities": []}
    identities = [(i["kind"], i["value"]) for i in customer["identities"]]
    if reply_address(channel, last.from_address, identities) is None:
        raise HTTPException(status.HTTP_409_CONFLICT, no_address(channel))
    if body.template is not None and channel is not Channel.WHATSAPP:
        raise HTTPException(status.HTTP_409_CONFLICT, "templates are sent on WhatsApp only")
    if channel is Channel.WHATSAPP and body.template is None:
        whatsapp = store.last_inbound(customer_id, Channel.WHATSAPP)
        last_at = whatsapp.at if whatsapp else None
        if not window_open(last_at, now):
            raise HTTPException(status.HTTP_409_CONFLICT, window_closed(last_at))
    return channel


@router.post("/{conversation_id}/resolve", response_model=ConversationDetail)
async def resolve(
    conversation_id: str,
    body: ResolveBody,
    conversations: ConversationsDep,
    temporal: TemporalDep,
    caller: Agent,
) -> ConversationDetail:
    update = ResolveInput(body.code, actor=caller.actor)
    return await _act(conversations, temporal, conversation_id, RESOLVE, update)


@router.post("/{conversation_id}/reopen", response_model=ConversationDetail)
async def reopen(
    conversation_id: str,
    body: ReopenBody,
    conversations: ConversationsDep,
    temporal: TemporalDep,
    caller: Agent,
) -> ConversationDetail:
    update = ReopenInput(body.reason, actor=caller.actor)
    return await _act(conversations, temporal, conversation_id, REOPEN, update)
