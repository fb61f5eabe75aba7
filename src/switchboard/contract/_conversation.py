"""Conversations: one open conversation per customer across channels, and its state changes."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from switchboard.contract._interaction import Channel, Direction, Route, SlaPolicy

# Activity names (workflows refer to activities by name).
THREAD_INTERACTION = "thread_interaction"
RECORD_CONVERSATION = "record_conversation"
SEND_REPLY = "send_reply"
# What the store says of interactions a conversation was signalled: the signal names them, the
# store is trusted for their customer, channel, direction and route.
LOAD_INTERACTIONS = "load_interactions"
# Auto-resolve for inactivity in the store, unless a message was threaded there since.
CLAIM_INACTIVE = "claim_inactive"

# Update names, and the error type of an action the conversation's state does not allow.
ASSIGN = "assign"
REPLY = "reply"
RESOLVE = "resolve"
REOPEN = "reopen"
TRANSFER = "transfer"
LABELS = "labels"
CSAT = "csat"
ADD_INTERACTION = "add_interaction"
# The signal an interaction workflow sends (signal-with-start): it does not wait for the
# conversation, which threads the interactions that arrived together in one store write.
THREAD = "thread"
INVALID_ACTION = "InvalidAction"
REPLY_FAILED = "ReplyFailed"


def conversation_workflow_id(customer_id: str) -> str:
    """The customer's entity workflow: it holds the open conversation, whichever channel."""
    return f"conversation:{customer_id}"


class ConversationStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class EventKind(StrEnum):
    OPENED = "opened"
    INTERACTION = "interaction"
    ASSIGNED = "assigned"
    FIRST_RESPONSE = "first_response"
    SLA_BREACHED = "sla_breached"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    AUTO_RESOLVED = "auto_resolved"
    TRANSFERRED = "transferred"
    LABELED = "labeled"
    CSAT = "csat"


class SlaTarget(StrEnum):
    """Which target an `sla_breached` event is about (its `target` detail)."""

    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


@dataclass
class ConversationPolicy:
    """The timers and windows of conversations (from the worker's settings; workflows read none).

    Seconds rather than timedeltas keep the payload plain JSON.
    """

    auto_resolve_after_s: float = 3 * 24 * 3600
    # A customer message this soon after resolution reopens the conversation; later, a new one.
    reopen_window_s: float = 24 * 3600
    escalation_queue: str = "escalations"
    # Continue-as-new once the history has this many events.
    max_history_events: int = 2_000


@dataclass
class InteractionRef:
    """What a conversation needs to know of an interaction it threads, as the store holds it.

    No address and no subject: a reply reads them from the store when it is sent
    (`send_reply`), so no conversation history holds them. (Histories recorded before carry
    `from_address` and `subject` here; the converter ignores them.)
    """

    interaction_id: str
    customer_id: str
    channel: Channel
    direction: Direction
    route: Route


@dataclass
class ThreadSignal:
    """The `thread` signal: which interaction to thread, by id alone; the conversation reads
    the rest from the store (`load_interactions`) and threads it only if it is its
    customer's."""

    interaction_id: str


@dataclass
class ConversationState:
    """Everything a conversation is, carried across continue-as-new."""

    conversation_id: str | None = None
    status: ConversationStatus | None = None
    queue: str = ""
    priority: int = 0
    assignee: str | None = None
    opened_at: datetime | None = None
    first_response_due_at: datetime | None = None
    first_response_at: datetime | None = None
    sla_breached: bool = False
    last_activity_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution_code: str | None = None
    interaction_count: int = 0
    # Numbers the conversation's events, so events at the same instant keep their order.
    event_count: int = 0
    # The channel of the customer's latest message the conversation threaded, where a reply
    # goes when the agent names none. The address and the subject are read from the store when
    # the reply is sent (histories recorded before carry `reply_address` and `reply_subject`
    # here; the converter ignores them).
    reply_channel: Channel | None = None
    # The last interactions threaded (bounded), so a retried hand-off is not counted twice.
    recent_interaction_ids: list[str] = field(default_factory=list)
    # SLA policies (`workflows.conversation.sla`): the opening route's targets and calendar
    # (None in conversations opened before them), and where each target stands.
    sla: SlaPolicy | None = None
    # An agent replied (or resolved it) after the customer's last message.
    awaiting_customer: bool = False
    next_response_due_at: datetime | None = None
    # The resolution clock: business seconds used before `resolution_clock_since`, the moment
    # it last started (None while paused or stopped).
    resolution_used_s: float = 0.0
    resolution_clock_since: datetime | None = None
    resolution_due_at: datetime | None = None
    resolution_breached: bool = False
    # Agent actions (`transfer`, `labels`, `resolve` with a disposition, `csat`).
    labels: list[str] = field(default_factory=list)
    disposition: str | None = None
    # The customer's score (1-5) of the latest resolution; a new resolution clears it.
    csat_score: int | None = None


@dataclass
class ConversationInput:
    customer_id: str
    policy: ConversationPolicy
    state: ConversationState | None = None


@dataclass
class ConversationEvent:
    event_id: str
    conversation_id: str
    customer_id: str
    kind: EventKind
    at: datetime
    seq: int = 0
    detail: dict[str, str] = field(default_factory=dict)
    # Who caused it: `key:<name>` or `oidc:<sub>`; None for customers' messages and timers.
    actor: str | None = None


@dataclass
class RecordConversationInput:
    """One write of a conversation: its current row, new events, newly threaded interactions."""

    customer_id: str
    state: ConversationState
    events: list[ConversationEvent]
    interaction_ids: list[str] = field(default_factory=list)


@dataclass
class HandOffInput:
    """`thread_interaction`: signal the conversation of `customer_id` (or of the customer it
    was merged into) to thread `interaction_id`."""

    interaction_id: str
    customer_id: str


@dataclass
class AssignInput:
    agent: str
    # The caller, as `key:<name>` or `oidc:<sub>` (empty in histories from before actors).
    actor: str = ""


@dataclass
class ReplyTemplate:
    """An approved WhatsApp template: its Content SID (`HX…`) and its placeholders' values."""

    content_sid: str
    variables: dict[str, str] = field(default_factory=dict)


@dataclass
class ReplyInput:
    text: str
    actor: str = ""
    # The channel to reply on; None: the channel of the customer's latest message.
    channel: Channel | None = None
    # Sent instead of `text` (WhatsApp, outside its 24-hour window).
    template: ReplyTemplate | None = None


@dataclass
class ResolveInput:
    code: str
    actor: str = ""
    # One of the routing rules' `dispositions` (the API checks it).
    disposition: str | None = None


@dataclass
class TransferInput:
    """To another queue and/or agent. `sla`: the new queue's targets (the API reads them from
    the routing rules; a workflow reads no files), None when the queue stays."""

    queue: str | None = None
    agent: str | None = None
    actor: str = ""
    priority: int | None = None
    sla: SlaPolicy | None = None


@dataclass
class LabelsInput:
    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    actor: str = ""


@dataclass
class CsatInput:
    """The customer's satisfaction with the latest resolution, 1 (worst) to 5."""

    score: int
    comment: str = ""
    actor: str = ""


@dataclass
class ReopenInput:
    reason: str = ""
    actor: str = ""


@dataclass
class SendReplyInput:
    """An agent's reply. The activity reads the address (the customer's latest message, else
    their identity for the channel) and an email's subject (the conversation's latest) from
    the store; `to_address` and `subject` are set only by runs recorded before it did."""

    outbox_id: str
    conversation_id: str
    customer_id: str
    channel: Channel
    to_address: str = ""
    text: str = ""
    subject: str | None = None
    template: ReplyTemplate | None = None


@dataclass
class LoadInteractionsInput:
    interaction_ids: list[str]


@dataclass
class LoadInteractionsResult:
    """The interactions found, as the store holds them; unknown ids are left out."""

    refs: list[InteractionRef]


@dataclass
class ClaimInactiveInput:
    conversation_id: str
    # The last activity the workflow knows of.
    active_until: datetime


@dataclass
class ClaimInactiveResult:
    """None: resolved in the store (the workflow records it); else the last activity of a
    message threaded by its persist step since, to which the inactivity timer is re-armed."""

    last_activity_at: datetime | None = None


@dataclass
class SendReplyResult:
    interaction_id: str
    provider_message_id: str


__all__ = [
    "ADD_INTERACTION",
    "ASSIGN",
    "CLAIM_INACTIVE",
    "CSAT",
    "INVALID_ACTION",
    "LABELS",
    "LOAD_INTERACTIONS",
    "RECORD_CONVERSATION",
    "REOPEN",
    "REPLY",
    "REPLY_FAILED",
    "RESOLVE",
    "SEND_REPLY",
    "THREAD",
    "THREAD_INTERACTION",
    "TRANSFER",
    "AssignInput",
    "ClaimInactiveInput",
    "ClaimInactiveResult",
    "ConversationEvent",
    "ConversationInput",
    "ConversationPolicy",
    "ConversationState",
    "ConversationStatus",
    "CsatInput",
    "EventKind",
    "HandOffInput",
    "InteractionRef",
    "LabelsInput",
    "LoadInteractionsInput",
    "LoadInteractionsResult",
    "RecordConversationInput",
    "ReopenInput",
    "ReplyInput",
    "ReplyTemplate",
    "ResolveInput",
    "SendReplyInput",
    "SendReplyResult",
    "SlaTarget",
    "ThreadSignal",
    "TransferInput",
    "conversation_workflow_id",
]
