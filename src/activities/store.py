"""dedupe, persist, record_failure: the activities that read and write the store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio import activity
from temporalio.exceptions import ApplicationError

from switchboard.contract import (
    AWAITING_INTERACTION,
    DEDUPE,
    PERSIST,
    RECORD_FAILURE,
    UNSTORABLE,
    DedupeInput,
    DedupeResult,
    FailureInput,
    PersistInput,
    PersistResult,
)
from switchboard.store import Store
from switchboard.store.customers import claim_customer_id
from switchboard.store.lifecycle import is_permanent


class StoreActivities:
    """Built once in the worker with its store; each method is one activity.

    The methods are synchronous (SQLAlchemy Core) and run in the worker's thread pool. Every
    one of them is idempotent, so Temporal may retry it freely after a store outage.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    @activity.defn(name=DEDUPE)
    def dedupe(self, inp: DedupeInput) -> DedupeResult:
        """Resolve the sender to a customer and find an interaction already stored for the key.

        A verified sender finds (or becomes) its customer; a claimed one never joins anyone:
        its message stays with the customer it is stored under, or gets one of its own.

        Temporal's workflow id stops duplicates while it remembers the workflow; the store's
        unique key stops them after the namespace's retention has forgotten it.
        """
        customer_id = None
        with _refused_for_good():
            existing = self.store.find_interaction_key(inp.provider, inp.provider_message_id)
            identity = inp.customer_identity
            if identity is not None and (identity.verified or existing is None):
                # A claim's own customer is derived from the message's key; the message's
                # other claims (`linked_identities`) find and own nobody.
                customer_id = self.store.resolve_customer(
                    identity, claim_customer_id(inp.provider, inp.provider_message_id)
                )
        if customer_id is None and existing is not None:
            customer_id = existing[1]
        elif customer_id is None:
            # Retried with backoff (visible in Temporal UI) until the interaction's own event,
            # which names the customer, has been stored.
            raise ApplicationError(
                f"{inp.provider} {inp.provider_message_id} is not stored yet",
                type=AWAITING_INTERACTION,
            )
        return DedupeResult(
            customer_id=customer_id,
            existing_interaction_id=existing[0] if existing else None,
        )

    @activity.defn(name=PERSIST)
    def persist(self, inp: PersistInput) -> PersistResult:
        meter = activity.metric_meter()
        try:
            with _refused_for_good():
                result = self.store.persist_interaction(inp.interaction, inp.raw, inp.rederive)
        except Exception:
            # Counted, then raised: Temporal retries it with backoff.
            meter.create_counter(
                "switchboard_persist_errors", "Failed attempts to write an interaction."
            ).add(1)
            raise
        activity.logger.info(
            "interaction %s %s",
            result.interaction_id,
            "persisted" if result.created else "merged (a later event of the same message)",
        )
        if result.created:
            meter.create_histogram_float(
                "switchboard_receipt_to_persisted_seconds",
                "From the webhook's receipt to the interaction's commit.",
                "s",
            ).record((result.persisted_at - inp.raw.received_at).total_seconds())
        return result

    @activity.defn(name=RECORD_FAILURE)
    def record_failure(self, inp: FailureInput) -> None:
        self.store.record_failure(inp.raw, inp.reason, inp.interaction)


@contextmanager
def _refused_for_good() -> Iterator[None]:
    """Turn the store's refusal of the values themselves into a non-retryable failure.

    Retried, such a message would hold its workflow (and the failures console's "stuck" list)
    for ever; it ends `failed` instead, with a reason that names no value.
    """
    try:
        yield
    except Exception as exc:
        if not is_permanent(exc):
            raise
        raise ApplicationError(
            f"the store refused the interaction's values ({type(exc).__name__})",
            type=UNSTORABLE,
            non_retryable=True,
        ) from None
