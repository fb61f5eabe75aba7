"""Conversations: read them, and act on them as an agent (Temporal updates on the entity)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from ingress import pagination, problems
from ingress.auth import Agent, Permission, require
from ingress.deps import ClockDep, RulesDep, StoreDep, TemporalDep
from ingress.idempotency import IdempotencyDep, IdempotencyKey
from ingress.pagination import Cursor, Limit, Page
from ingress.routes.conversation_bodies import (
    AssignBody,
    CsatBody,
    LabelsBody,
    ReopenBody,
    ReplyBody,
    ReplyText,
    ReplyWithTemplate,
    ResolveBody,
    TransferBody,
)
from switchboard.contract import (
    ASSIGN,
    CSAT,
    INVALID_ACTION,
    LABELS,
    REOPEN,
    REPLY,
    REPLY_FAILED,
    RESOLVE,
    TRANSFER,
    AssignInput,
    Channel,
    ConversationState,
    CsatInput,
    LabelsInput,
    ReopenInput,
    ReplyInput,
    ReplyTemplate,
    ResolveInput,
    TransferInput,
    conversation_workflow_id,
)
from switchboard.replies import no_address, reply_address, window_closed, window_open
from switchboard.store import ConversationStore, Store

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
    disposition: str | None = None
    labels: list[str] = Field(default_factory=list)
    csat_score: int | None = Field(default=None, description="1-5, of the latest resolution")
    updated_at: datetime


class ConversationDetail(Conversation):
    events: list[ConversationEventOut]
    interaction_ids: list[str]


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
    # After a merge, a conversation may be held by the merged customer's workflow.
    handle = temporal.get_workflow_handle(conversation_workflow_id(found["workflow_customer_id"]))
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
    store: StoreDep,
    temporal: TemporalDep,
    clock: ClockDep,
    caller: Agent,
    idempotency: IdempotencyDep,
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
        ReplyTemplate(body.template.content_sid, dict(body.template.variables))
        if isinstance(body, ReplyWithTemplate)
        else None
    )
    text = body.text if isinstance(body, ReplyText) else ""
    update = ReplyInput(text, actor=caller.actor, channel=channel, template=template)
    return await _act(conversations, temporal, conversation_id, REPLY, update, idempotency)


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
    templated = isinstance(body, ReplyWithTemplate)
    if templated and channel is not Channel.WHATSAPP:
        raise HTTPException(status.HTTP_409_CONFLICT, "templates are sent on WhatsApp only")
    if channel is Channel.WHATSAPP and not templated:
        whatsapp = store.last_inbound(customer_id, Channel.WHATSAPP)
        last_at = whatsapp.at if whatsapp else None
        if not window_open(last_at, now):
            raise HTTPException(status.HTTP_409_CONFLICT, window_closed(last_at))
    return channel


@router.post(
    "/{conversation_id}/resolve",
    response_model=ConversationDetail,
    responses={**ACTION, **problems.responses(422)},
)
async def resolve(
    conversation_id: str,
    body: ResolveBody,
    conversations: ConversationsDep,
    temporal: TemporalDep,
    rules: RulesDep,
    caller: Agent,
    idempotency: IdempotencyDep,
) -> ConversationDetail:
    """Resolve the conversation, with a resolution code and optionally a disposition."""
    if body.disposition is not None and body.disposition not in rules.dispositions:
        known = ", ".join(rules.dispositions) or "none"
        raise problems.invalid_field(
            ("body", "disposition"),
            f"unknown disposition {body.disposition!r}; the routing rules list: {known}",
        )
    update = ResolveInput(body.code, actor=caller.actor, disposition=body.disposition)
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


@router.post(
    "/{conversation_id}/transfer",
    response_model=ConversationDetail,
    responses={**ACTION, **problems.responses(422)},
)
async def transfer(
    conversation_id: str,
    body: TransferBody,
    conversations: ConversationsDep,
    temporal: TemporalDep,
    rules: RulesDep,
    caller: Agent,
    idempotency: IdempotencyDep,
) -> ConversationDetail:
    """Move the conversation to another queue and/or agent. The new queue's SLA targets apply
    from now on, and its time in queue starts again (until someone is assigned)."""
    update = TransferInput(agent=body.agent, actor=caller.actor)
    if body.queue is not None:
        target = rules.queues().get(body.queue)
        if target is None:
            raise problems.invalid_field(
                ("body", "queue"),
                f"unknown queue {body.queue!r}; the routing rules have: "
                + ", ".join(sorted(rules.queues())),
            )
        update.queue, update.priority, update.sla = (
            body.queue,
            target.priority,
            rules.policy(target),
        )
    return await _act(conversations, temporal, conversation_id, TRANSFER, update, idempotency)


@router.post("/{conversation_id}/labels", response_model=ConversationDetail, responses=ACTION)
async def labels(
    conversation_id: str,
    body: LabelsBody,
    conversations: ConversationsDep,
    temporal: TemporalDep,
    caller: Agent,
    idempotency: IdempotencyDep,
) -> ConversationDetail:
    """Add and remove labels (free-form tags, kept sorted)."""
    update = LabelsInput(list(body.add), list(body.remove), actor=caller.actor)
    return await _act(conversations, temporal, conversation_id, LABELS, update, idempotency)


@router.post(
    "/{conversation_id}/csat",
    response_model=ConversationDetail,
    responses=ACTION,
)
async def csat(
    conversation_id: str,
    body: CsatBody,
    conversations: ConversationsDep,
    temporal: TemporalDep,
    caller: Agent,
    idempotency: IdempotencyDep,
) -> ConversationDetail:
    """The customer's satisfaction with the latest resolution (from a survey tool with an
    agent key); a later score of the same resolution replaces it."""
    update = CsatInput(body.score, body.comment, actor=caller.actor)
    return await _act(conversations, temporal, conversation_id, CSAT, update, idempotency)
