"""Events out: the event types subscribers receive, and the delivery workflow's inputs."""

from dataclasses import dataclass, field
from enum import StrEnum

# Activity names of the delivery workflow.
ATTEMPT_DELIVERY = "attempt_delivery"
DEAD_LETTER = "dead_letter_delivery"


class EventType(StrEnum):
    INTERACTION_PERSISTED = "interaction.persisted"
    INTERACTION_STATUS_CHANGED = "interaction.status_changed"
    CONVERSATION_OPENED = "conversation.opened"
    CONVERSATION_ASSIGNED = "conversation.assigned"
    CONVERSATION_REPLIED = "conversation.replied"
    CONVERSATION_RESOLVED = "conversation.resolved"
    CONVERSATION_REOPENED = "conversation.reopened"
    CONVERSATION_TRANSFERRED = "conversation.transferred"
    CONVERSATION_LABELED = "conversation.labeled"
    CONVERSATION_RATED = "conversation.rated"
    SLA_BREACHED = "sla.breached"
    # Operational: sent to the other subscriptions when one is disabled (410, or failing).
    SUBSCRIPTION_DISABLED = "subscription.disabled"
    CUSTOMER_MERGED = "customer.merged"
    CUSTOMER_SPLIT = "customer.split"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    # Given up without exhausting the schedule: a 4xx other than 429, a refused address, a
    # subscription disabled or deleted meanwhile.
    FAILED = "failed"
    # Every attempt of the schedule failed; replay or retry sends it again.
    DEAD = "dead"


class AttemptOutcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


def delivery_workflow_id(delivery_id: str) -> str:
    return f"delivery:{delivery_id}"


@dataclass
class DeliveryInput:
    """One event to one subscription; `retry_schedule_s` are the waits between attempts."""

    delivery_id: str
    retry_schedule_s: list[float] = field(default_factory=list)


@dataclass
class AttemptInput:
    delivery_id: str
    attempt: int
    # The wait before the next attempt should this one fail (None: it is the last).
    next_delay_s: float | None = None


@dataclass
class AttemptResult:
    outcome: AttemptOutcome
    status_code: int | None = None
    # The receiver's Retry-After, in seconds, when it sent one.
    retry_after_s: float | None = None


@dataclass
class DeliveryResult:
    status: DeliveryStatus
    attempts: int


__all__ = [
    "ATTEMPT_DELIVERY",
    "DEAD_LETTER",
    "AttemptInput",
    "AttemptOutcome",
    "AttemptResult",
    "DeliveryInput",
    "DeliveryResult",
    "DeliveryStatus",
    "EventType",
    "delivery_workflow_id",
]
