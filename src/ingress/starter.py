"""Starting InteractionWorkflow: the one place where a webhook becomes durable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from switchboard import search_attributes as sa
from switchboard.contract import (
    Channel,
    InteractionInput,
    InteractionResult,
    RawEvent,
    Status,
    interaction_workflow_id,
)
from workflows import InteractionWorkflow


class TemporalUnavailable(Exception):
    """Temporal did not accept the start: the message is not durable, so it must not be acked."""


class TemporalRefused(Exception):
    """Temporal refused the start for good (its payload or id is too large): retrying the same
    delivery can never succeed, so the provider must not be told to retry."""

    def __init__(self, reason: str, too_large: bool) -> None:
        super().__init__(reason)
        self.too_large = too_large


# What Temporal answers for a request that is wrong in itself, not for a passing condition.
PERMANENT = (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.OUT_OF_RANGE)


def interaction_search_attributes(raw: RawEvent, channel: Channel | None) -> TypedSearchAttributes:
    """What an engineer filters on in Temporal UI from the start, before the message is parsed."""
    pairs = [
        SearchAttributePair(sa.PROVIDER, str(raw.provider)),
        SearchAttributePair(sa.INTERACTION_STATUS, str(Status.RECEIVED)),
    ]
    if channel is not None:
        pairs.append(SearchAttributePair(sa.CHANNEL, str(channel)))
    return TypedSearchAttributes(pairs)


async def start_interaction_workflow(
    client: Client,
    interaction: InteractionInput,
    *,
    workflow_id: str,
    task_queue: str,
    channel: Channel | None,
    id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    rpc_timeout: timedelta | None = None,
) -> WorkflowHandle[Any, InteractionResult]:
    """How a message becomes a durable workflow, for the ingress and for reprocessing alike."""
    return await client.start_workflow(
        InteractionWorkflow.run,
        interaction,
        id=workflow_id,
        task_queue=task_queue,
        id_reuse_policy=id_reuse_policy,
        search_attributes=interaction_search_attributes(interaction.raw, channel),
        rpc_timeout=rpc_timeout,
    )


async def start_interaction(
    client: Client,
    task_queue: str,
    raw: RawEvent,
    channel: Channel,
    timeout: timedelta,
    orphan_wait_s: float | None = None,
) -> bool:
    """Start the event's workflow; return False when an earlier delivery already did.

    The workflow id is derived from the provider's event key (the message id, or the id and
    what happened to it) and ids are never reused, so every redelivery, concurrent or late,
    reaches the one workflow of its event.
    """
    try:
        await start_interaction_workflow(
            client,
            InteractionInput(raw=raw, orphan_wait_s=orphan_wait_s),
            workflow_id=interaction_workflow_id(raw.provider, raw.event_key),
            task_queue=task_queue,
            channel=channel,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            rpc_timeout=timeout,
        )
    except WorkflowAlreadyStartedError:
        return False
    except RPCError as exc:
        if exc.status in PERMANENT:
            # Temporal's own wording ("Blob data size exceeds limit."), never the payload.
            too_large = "size" in exc.message.lower() or "length" in exc.message.lower()
            raise TemporalRefused(exc.message, too_large) from exc
        raise TemporalUnavailable(str(exc)) from exc
    except RuntimeError as exc:
        # A lazy client that has never reached the server fails its first call this way.
        if not str(exc).startswith("Failed client connect"):
            raise
        raise TemporalUnavailable(str(exc)) from exc
    return True
