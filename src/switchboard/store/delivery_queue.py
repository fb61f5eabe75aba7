"""Deliveries as a queue in the store: which are due, who is sending them, what came of it.

A delivery is due while it is `pending` and its `next_attempt_at` has passed. A deliverer
claims due deliveries by moving `next_attempt_at` to the end of a lease (longer than an attempt
may take): a deliverer that dies mid-attempt leaves them to be claimed again when the lease
runs out, and two deliverers (two worker processes) never claim the same one at once.

Recording attempts' outcomes also moves each subscription's circuit breaker along, and may
disable a subscription that has failed for days (`switchboard.store.breaker`), in the same
transaction. Times are the caller's (`now`), so a deliverer runs on its own clock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update

from switchboard.contract import DeliveryStatus
from switchboard.store import breaker
from switchboard.store.engine import write_transaction
from switchboard.store.subscriptions import disable_in
from switchboard.store.tables import deliveries, outbound_events


@dataclass(frozen=True)
class Finished:
    """The outcome of one attempt, as the delivery log keeps it (`values`: its columns), and
    for its subscription's breaker whether the receiver took it (None: not the receiver's
    doing, such as the store failing while the body was read)."""

    delivery_id: str
    sent: bool
    values: dict[str, Any]
    subscription_id: str | None = None
    delivered: bool | None = None


class DeliveryQueue:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(
        self, wanted: Mapping[str, int], lease_until: datetime, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Up to `wanted[subscription_id]` due deliveries of each subscription, the oldest due
        first, leased until `lease_until`; each with its event and its step of the schedule."""
        now = now or datetime.now(UTC)
        due = (deliveries.c.status == DeliveryStatus.PENDING) & (
            deliveries.c.next_attempt_at <= now
        )
        candidates: list[str] = []
        # Read first, without the write lock: most of the time nothing is due.
        with self.engine.connect() as conn:
            for subscription_id, limit in wanted.items():
                candidates += conn.execute(
                    select(deliveries.c.delivery_id)
                    .where(deliveries.c.subscription_id == subscription_id, due)
                    .order_by(deliveries.c.next_attempt_at)
                    .limit(limit)
                ).scalars()
        if not candidates:
            return []
        with write_transaction(self.engine) as conn:
            # Still due: another deliverer may have claimed some since they were read.
            claimed = list(
                conn.execute(
                    update(deliveries)
                    .where(deliveries.c.delivery_id.in_(candidates), due)
                    .values(next_attempt_at=lease_until)
                    .returning(deliveries.c.delivery_id)
                ).scalars()
            )
            if not claimed:
                return []
            rows = conn.execute(
                select(
                    deliveries.c.delivery_id,
                    deliveries.c.subscription_id,
                    deliveries.c.event_id,
                    deliveries.c.schedule_step,
                    outbound_events.c.body,
                    outbound_events.c.interaction_id,
                )
                .join(outbound_events, outbound_events.c.event_id == deliveries.c.event_id)
                .where(deliveries.c.delivery_id.in_(claimed))
            ).mappings()
            return [dict(row) for row in rows]

    def finish(
        self,
        finished: Sequence[Finished],
        now: datetime | None = None,
        policy: breaker.EndpointPolicy | None = None,
    ) -> list[str]:
        """Record attempts' outcomes, in one transaction: an attempt that sent something counts
        in `attempts` and moves the delivery one step along its schedule, and each attempt the
        receiver took or failed moves its subscription's breaker. The subscriptions disabled
        because their deliveries have failed for `policy.disable_after`."""
        if not finished:
            return []
        now = now or datetime.now(UTC)
        policy = policy or breaker.EndpointPolicy()
        outcomes: dict[str, list[bool]] = defaultdict(list)
        for one in finished:
            if one.subscription_id is not None and one.delivered is not None:
                outcomes[one.subscription_id].append(one.delivered)
        disabled = []
        with write_transaction(self.engine) as conn:
            # In one order, so two deliverers finishing at once on PostgreSQL lock rows alike.
            for subscription_id, delivered in sorted(outcomes.items()):
                since = breaker.record(conn, subscription_id, delivered, now, policy)
                if since is not None and disable_in(
                    conn, subscription_id, _failing_for(now - since), now, since
                ):
                    disabled.append(subscription_id)
            for one in finished:
                counted: dict[str, Any] = {}
                if one.sent:
                    counted = {
                        "attempts": deliveries.c.attempts + 1,
                        "schedule_step": deliveries.c.schedule_step + 1,
                    }
                conn.execute(
                    update(deliveries)
                    .where(deliveries.c.delivery_id == one.delivery_id)
                    .values(**one.values, **counted, updated_at=now)
                )
        return disabled

    def fail_due(self, subscription_id: str, reason: str, now: datetime | None = None) -> int:
        """Give up the due deliveries of a disabled subscription; how many."""
        now = now or datetime.now(UTC)
        due = select(deliveries.c.delivery_id).where(
            deliveries.c.subscription_id == subscription_id,
            deliveries.c.status == DeliveryStatus.PENDING,
            deliveries.c.next_attempt_at <= now,
        )
        with self.engine.connect() as conn:
            if conn.execute(due.limit(1)).first() is None:
                return 0
        with write_transaction(self.engine) as conn:
            return len(
                conn.execute(
                    update(deliveries)
                    .where(
                        deliveries.c.subscription_id == subscription_id,
                        deliveries.c.status == DeliveryStatus.PENDING,
                        deliveries.c.next_attempt_at <= now,
                    )
                    .values(
                        status=DeliveryStatus.FAILED,
                        last_error=reason,
                        next_attempt_at=None,
                        updated_at=now,
                    )
                    .returning(deliveries.c.delivery_id)
                ).all()
            )


def _failing_for(duration: timedelta) -> str:
    seconds = duration.total_seconds()
    if seconds >= 2 * 86400:
        span = f"{seconds / 86400:.1f} days"
    elif seconds >= 2 * 3600:
        span = f"{seconds / 3600:.1f} hours"
    else:
        span = f"{seconds:.0f} s"
    return f"every delivery failed for {span}"
