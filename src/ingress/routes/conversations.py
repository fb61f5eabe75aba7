"""Conversations: read them, and act on them as an agent (Temporal updates on the entity)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from ingress import pagination, problems
from ingress.auth import Agent, Permission, require
from ingress.deps import TemporalDep
from ingress.idempotency import IdempotencyDep, IdempotencyKey
from ingress.pagination import Cursor, Limit, Page
from switchboard.contract import (
    ASSIGN,
    INVALID_ACTION,
    REOPEN,
    REPLY,
    REPLY_FAILED,
    RESOLVE,
    AssignInput,
    ConversationState,
    ReopenInput,
    ReplyInput,
    ResolveInput,
    conversation_workflow_id,
)
from switchboard.store import ConversationStore

router = APIRouter(
    prefix="/api/conversations",
    tags=["conversations"],
    responses=problems.responses(*problems.AUTHENTICATED),
)
# What an action can answer beyond the group's: the workflow refused it (409), the provider
# refused a reply (502), Temporal is unreachable (503).
ACTION = problems.responses(404, 409, 503)
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


class ReplyBody(BaseModel):
    text: str = Field(min_length=1, max_length=1600)


class ResolveBody(BaseModel):
    code: str = Field(min_length=1, max_length=64, description="resolution code, e.g. answered")


class ReopenBody(BaseModel):
    reason: str = Field(default="", max_length=256)


@router.get("", response_model=Page[Conversation], dependencies=READ)
def list_conversations(
    conversations: ConversationsDep,
    status_: Annotated[str | None, Query(alias="status", pattern="^(open|resolved)$")] = None,
    queue: str | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """A queue view: conversations by status and queue, oldest opened first."""
    rows = conversations.list(status_, queue, limit + 1, pagination.position(cursor))
    return pagination.page(rows, limit, lambda c: (c["opened_at"], c["conversation_id"]))


@router.get(
    "/{conversation_id}",
    response_model=ConversationDetail,
    dependencies=READ,
    responses=problems.responses(404),
)
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
    idempotency: IdempotencyKey | None,
) -> ConversationDetail:
    found = conversations.get(conversation_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown conversation")
    handle = temporal.get_workflow_handle(conversation_workflow_id(found["customer_id"]))
    try:
        state: ConversationState = await handle.execute_update(
            update,
            arg,
            id=idempotency.update_id if idempotency else None,
            result_type=ConversationState,
            rpc_timeout=timedelta(seconds=30),
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


@router.post("/{conversation_id}/assign", response_model=ConversationDetail, responses=ACTION)
async def assign(
    conversation_id: str,
    body: AssignBody,
    conversations: ConversationsDep,
    temporal: TemporalDep,
    caller: Agent,
    idempotency: IdempotencyDep,
) -> ConversationDetail:
    """Assign the conversation to an agent; without one, to the caller."""
    agent = body.agent or caller.actor
    update = AssignInput(agent, actor=caller.actor)
    return await _act(conversations, temporal, conversation_id, ASSIGN, update, idempotency)


@router.post(
    "/{conversation_id}/reply",
    response_model=ConversationDetail,
    responses={**ACTION, **problems.responses(502)},
)
async def reply(
    conversation_id: str,
    body: ReplyBody,
    conversations: ConversationsDep,
    temporal: TemporalDep,
    caller: Agent,
    idempotency: IdempotencyDep,
) -> ConversationDetail:
    """Reply to the customer on the channel they last wrote on (SMS for calls)."""
    update = ReplyInput(body.text, actor=caller.actor)
    return await _act(conversations, temporal, conversation_id, REPLY, update, idempotency)


@router.post("/{conversation_id}/resolve", response_model=ConversationDetail, responses=ACTION)
async def resolve(
    conversation_id: str,
    body: ResolveBody,
    conversations: ConversationsDep,
    temporal: TemporalDep,
    caller: Agent,
    idempotency: IdempotencyDep,
) -> ConversationDetail:
    update = ResolveInput(body.code, actor=caller.actor)
    return await _act(conversations, temporal, conversation_id, RESOLVE, update, idempotency)


@router.post("/{conversation_id}/reopen", response_model=ConversationDetail, responses=ACTION)
async def reopen(
    conversation_id: str,
    body: ReopenBody,
    conversations: ConversationsDep,
    temporal: TemporalDep,
    caller: Agent,
    idempotency: IdempotencyDep,
) -> ConversationDetail:
    update = ReopenInput(body.reason, actor=caller.actor)
    return await _act(conversations, temporal, conversation_id, REOPEN, update, idempotency)
