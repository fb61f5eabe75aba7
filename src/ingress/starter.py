"""Starting InteractionWorkflow: the one place where a webhook becomes durable."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from switchboard import search_attributes as sa
from switchboard.contract import (
    Channel,
    InteractionInput,
    RawEvent,
    Status,
    interaction_workflow_id,
)
from workflows import InteractionWorkflow


class TemporalUnavailable(Exception):
    """Temporal did not accept the start: the message is not durable, so it must not be acked."""


async def start_interaction(
    client: Client,
    task_queue: str,
    raw: RawEvent,
    channel: Channel,
    timeout: timedelta,
) -> bool:
    """Start the event's workflow; return False when an earlier delivery already did.

    The workflow id is derived from the provider's event key (the message id, or the id and
    what happened to it) and ids are never reused, so every redelivery, concurrent or late,
    reaches the one workflow of its event.
    """
    try:
        await client.start_workflow(
            InteractionWorkflow.run,
            InteractionInput(raw=raw),
            id=interaction_workflow_id(raw.provider, raw.event_key),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.CHANNEL, channel),
                    SearchAttributePair(sa.PROVIDER, raw.provider),
                    SearchAttributePair(sa.INTERACTION_STATUS, Status.RECEIVED),
                ]
            ),
            rpc_timeout=timeout,
        )
    except WorkflowAlreadyStartedError:
        return False
    except RPCError as exc:
        raise TemporalUnavailable(str(exc)) from exc
    except RuntimeError as exc:
        # A lazy client that has never reached the server fails its first call this way.
        if not str(exc).startswith("Failed client connect"):
            raise
        raise TemporalUnavailable(str(exc)) from exc
    return True
