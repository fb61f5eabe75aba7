"""Each subscription's circuit breaker, and its disabling after days of failure (Convoy's and
Svix's models), kept in the store: every deliverer (worker process) shares it, a restart keeps it.

- `closed`: deliveries are sent, never more at once than the failures that open the breaker
  still to come, so a dead endpoint gets at most `failures` attempts before it is held back.
- `open` (after `failures` failed attempts in a row): nothing is sent until `breaker_until`
  (the cool-down); the deliveries stay due and keep their retries instead of spending them.
- `half_open`: after the cool-down one deliverer takes the probe (leased until `breaker_until`,
  so a deliverer that dies holding it hands it on); one delivery is sent. Success closes the
  breaker, failure opens it for another cool-down.

Separately, `failing_since` is when the first of the failed attempts since the last success
was made: once it is `disable_after` old, the next failed attempt disables the subscription.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.engine import Connection

from switchboard.store.engine import write_transaction
from switchboard.store.tables import subscriptions


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class EndpointPolicy:
    """When a subscription's breaker opens, how long it stays open, when it is disabled."""

    failures: int = 16
    cooldown: timedelta = timedelta(seconds=60)
    disable_after: timedelta = timedelta(days=5)


# What `record` writes back when an attempt succeeds.
HEALTHY: dict[str, Any] = {
    "consecutive_failures": 0,
    "failing_since": None,
    "breaker_state": BreakerState.CLOSED,
    "breaker_until": None,
}


def room(sub: Mapping[str, Any], in_flight: int, slots: int, policy: EndpointPolicy) -> int:
    """How many more attempts a closed breaker lets start now (0 unless closed)."""
    if sub["breaker_state"] != BreakerState.CLOSED:
        return 0
    # At least one at a time: closed with the failures to open it already counted (the
    # setting lowered since) still tries, and that attempt's failure opens it.
    allowed = max(1, min(slots, policy.failures - sub["consecutive_failures"]))
    return max(0, allowed - in_flight)


def probe_due(sub: Mapping[str, Any], in_flight: int, now: datetime) -> bool:
    """Whether an open breaker's cool-down (or a half-open probe's lease) has run out."""
    until = sub["breaker_until"]
    return (
        sub["breaker_state"] != BreakerState.CLOSED
        and in_flight == 0
        and (until is None or until <= now)
    )


def take_probe(engine: Engine, subscription_id: str, now: datetime, lease_until: datetime) -> bool:
    """Half-open the breaker for one probe until `lease_until`; False if another deliverer
    took it first."""
    with write_transaction(engine) as conn:
        taken = conn.execute(
            update(subscriptions)
            .where(
                subscriptions.c.subscription_id == subscription_id,
                subscriptions.c.breaker_state != BreakerState.CLOSED,
                (subscriptions.c.breaker_until.is_(None)) | (subscriptions.c.breaker_until <= now),
            )
            .values(breaker_state=BreakerState.HALF_OPEN, breaker_until=lease_until)
            .returning(subscriptions.c.subscription_id)
        ).first()
    return taken is not None


def record(
    conn: Connection,
    subscription_id: str,
    delivered: Sequence[bool],
    now: datetime,
    policy: EndpointPolicy,
) -> datetime | None:
    """Move the breaker along the attempts' outcomes (in the order they finished); when the
    subscription is to be disabled, since when its deliveries have failed, else None."""
    row = (
        conn.execute(
            select(
                subscriptions.c.enabled,
                subscriptions.c.consecutive_failures,
                subscriptions.c.failing_since,
                subscriptions.c.breaker_state,
                subscriptions.c.breaker_until,
            ).where(subscriptions.c.subscription_id == subscription_id)
        )
        .mappings()
        .one_or_none()
    )
    if row is None:  # deleted meanwhile
        return None
    health = {key: row[key] for key in HEALTHY}
    for ok in delivered:
        if ok:
            health = dict(HEALTHY)
            continue
        health["consecutive_failures"] += 1
        health["failing_since"] = health["failing_since"] or now
        state = health["breaker_state"]
        if state == BreakerState.HALF_OPEN or (
            state == BreakerState.CLOSED and health["consecutive_failures"] >= policy.failures
        ):
            health["breaker_state"] = BreakerState.OPEN
            health["breaker_until"] = now + policy.cooldown
    if health != {key: row[key] for key in HEALTHY}:  # a healthy receiver costs no write
        conn.execute(
            update(subscriptions)
            .where(subscriptions.c.subscription_id == subscription_id)
            .values(**health)
        )
    since: datetime | None = health["failing_since"]
    failed_last = bool(delivered) and not delivered[-1]
    if row["enabled"] and failed_last and since and now - since >= policy.disable_after:
        return since
    return None
