"""Subscriptions to events out, and the log of their deliveries."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, func, select, update
from sqlalchemy.engine import Connection

from switchboard.contract import DeliveryStatus
from switchboard.store import audit, breaker, outbound
from switchboard.store.engine import upsert, write_transaction
from switchboard.store.paging import Position, keyset
from switchboard.store.tables import deliveries, outbound_events, subscriptions

# Standard Webhooks lets a sender sign with several secrets: the old one keeps working this long.
ROTATION_OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _now() -> datetime:
    return datetime.now(UTC)


def disable_in(
    conn: Connection,
    subscription_id: str,
    reason: str,
    now: datetime,
    failing_since: datetime | None = None,
) -> bool:
    """Disable an enabled subscription on the system's own decision, in the caller's
    transaction: `subscription.disabled` to the others and an audit row (actor `system`) go
    with it. False if it was not enabled (already disabled, or deleted)."""
    done = conn.execute(
        update(subscriptions)
        .where(subscriptions.c.subscription_id == subscription_id, subscriptions.c.enabled)
        .values(enabled=False, disabled_reason=reason[:200], updated_at=now)
        .returning(subscriptions.c.subscription_id)
    ).first()
    if done is None:
        return False
    outbound.subscription_disabled(conn, subscription_id, reason, now, failing_since)
    audit.insert(
        conn,
        audit.AuditEntry(
            "SYSTEM",
            "subscription.disabled",
            0,
            actor="system",
            target=subscription_id,
            detail={"reason": reason[:200]},
            at=now,
        ),
    )
    return True


def wants(subscription: dict[str, Any], event_type: str) -> bool:
    events = subscription["events"]
    return "*" in events or event_type in events


class SubscriptionStore:
    """Subscriptions, their deliveries and the events they draw on; shares the store's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- subscriptions -----------------------------------------------------------------------

    def create(
        self, url: str, events: list[str], description: str | None, include_content: bool
    ) -> dict[str, Any]:
        now = _now()
        row = {
            "subscription_id": str(uuid.uuid4()),
            "url": url,
            "events": events,
            "description": description,
            "include_content": include_content,
            "enabled": True,
            "disabled_reason": None,
            "secret": new_secret(),
            "created_at": now,
            "updated_at": now,
            **breaker.HEALTHY,
        }
        with write_transaction(self.engine) as conn:
            conn.execute(subscriptions.insert().values(**row))
        return row

    def list_all(self, limit: int = 1000, after: Position | None = None) -> list[dict[str, Any]]:
        """Oldest first."""
        c = subscriptions.c
        query = keyset(select(subscriptions), c.created_at, c.subscription_id, after, limit, False)
        with self.engine.connect() as conn:
            rows = conn.execute(query)
            return [dict(row) for row in rows.mappings()]

    def get(self, subscription_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(subscriptions).where(subscriptions.c.subscription_id == subscription_id)
                )
                .mappings()
                .one_or_none()
            )
            return None if row is None else dict(row)

    def update(self, subscription_id: str, **changes: Any) -> dict[str, Any] | None:
        """Change url, events or enabled; enabling again clears why it was disabled and its
        endpoint's failures (its breaker closes)."""
        if changes.get("enabled"):
            changes.update(disabled_reason=None, **breaker.HEALTHY)
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(subscriptions)
                .where(subscriptions.c.subscription_id == subscription_id)
                .values(**changes, updated_at=_now())
            )
        return self.get(subscription_id)

    def disable(self, subscription_id: str, reason: str) -> None:
        """Disable it on the system's own decision (see `disable_in`)."""
        with write_transaction(self.engine) as conn:
            disable_in(conn, subscription_id, reason, _now())

    def delete(self, subscription_id: str) -> bool:
        with write_transaction(self.engine) as conn:
            conn.execute(delete(deliveries).where(deliveries.c.subscription_id == subscription_id))
            gone = conn.execute(
                delete(subscriptions)
                .where(subscriptions.c.subscription_id == subscription_id)
                .returning(subscriptions.c.subscription_id)
            ).first()
        return gone is not None

    def rotate(self, subscription_id: str) -> dict[str, Any] | None:
        """A new secret; the current one keeps signing beside it for `ROTATION_OVERLAP`."""
        current = self.get(subscription_id)
        if current is None:
            return None
        now = _now()
        return self.update(
            subscription_id,
            secret=new_secret(),
            previous_secret=current["secret"],
            previous_secret_expires_at=now + ROTATION_OVERLAP,
        )

    # --- dispatch: events to deliveries ------------------------------------------------------

    def dispatch(self, limit: int = 200) -> int:
        """Turn events not yet dispatched into deliveries, due now: one per enabled
        subscription that wants each event. The number of deliveries created."""
        undispatched = (
            select(outbound_events.c.event_id, outbound_events.c.type)
            .where(outbound_events.c.dispatched_at.is_(None))
            .order_by(outbound_events.c.created_at)
            .limit(limit)
        )
        # Read first, without the write lock: most polls find nothing.
        with self.engine.connect() as conn:
            if conn.execute(undispatched.limit(1)).first() is None:
                return 0
        with write_transaction(self.engine) as conn:
            events = conn.execute(undispatched).all()
            if not events:
                return 0
            subs = [
                dict(row)
                for row in conn.execute(
                    select(subscriptions).where(subscriptions.c.enabled.is_(True))
                ).mappings()
            ]
            created = self._deliveries(conn, subs, events)
            conn.execute(
                update(outbound_events)
                .where(outbound_events.c.event_id.in_([e[0] for e in events]))
                .values(dispatched_at=_now())
            )
        return len(created)

    def _deliveries(
        self, conn: Any, subs: Sequence[dict[str, Any]], events: Sequence[tuple[str, str]]
    ) -> list[str]:
        now, created = _now(), []
        for sub in subs:
            for event_id, event_type in events:
                if not wants(sub, event_type):
                    continue
                delivery_id = str(uuid.uuid4())
                inserted = conn.execute(
                    upsert(conn, deliveries)
                    .values(
                        delivery_id=delivery_id,
                        subscription_id=sub["subscription_id"],
                        event_id=event_id,
                        event_type=event_type,
                        status=DeliveryStatus.PENDING,
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                        updated_at=now,
                    )
                    .on_conflict_do_nothing()
                    .returning(deliveries.c.delivery_id)
                ).first()
                if inserted is not None:
                    created.append(delivery_id)
        return created

    def replay(self, subscription_id: str, since: datetime) -> list[str]:
        """Deliveries to (re)send: every event since `since` the subscription wants and has
        not received. Deliveries that failed or died are reset; missing ones are created."""
        with write_transaction(self.engine) as conn:
            sub = (
                conn.execute(
                    select(subscriptions).where(subscriptions.c.subscription_id == subscription_id)
                )
                .mappings()
                .one()
            )
            events = conn.execute(
                select(outbound_events.c.event_id, outbound_events.c.type)
                .where(outbound_events.c.occurred_at >= since)
                .order_by(outbound_events.c.occurred_at)
            ).all()
            created = self._deliveries(conn, [dict(sub)], events)
            reset = (
                conn.execute(
                    update(deliveries)
                    .where(
                        deliveries.c.subscription_id == subscription_id,
                        deliveries.c.event_id.in_([e[0] for e in events]),
                        deliveries.c.status.in_([DeliveryStatus.FAILED, DeliveryStatus.DEAD]),
                    )
                    .values(status=DeliveryStatus.PENDING, schedule_step=0, next_attempt_at=_now())
                    .returning(deliveries.c.delivery_id)
                )
                .scalars()
                .all()
            )
        return [*created, *reset]

    def reset(self, subscription_id: str, delivery_id: str) -> bool:
        """Make a delivery pending again (a manual retry); False if it is not this one's."""
        with write_transaction(self.engine) as conn:
            done = conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.delivery_id == delivery_id,
                    deliveries.c.subscription_id == subscription_id,
                )
                .values(status=DeliveryStatus.PENDING, schedule_step=0, next_attempt_at=_now())
                .returning(deliveries.c.delivery_id)
            ).first()
        return done is not None

    # --- the delivery log --------------------------------------------------------------------

    def deliveries(
        self,
        subscription_id: str,
        status: str | None = None,
        limit: int = 100,
        after: Position | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first."""
        query = select(deliveries).where(deliveries.c.subscription_id == subscription_id)
        if status is not None:
            query = query.where(deliveries.c.status == status)
        query = keyset(query, deliveries.c.created_at, deliveries.c.delivery_id, after, limit)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def delivery(self, delivery_id: str) -> dict[str, Any] | None:
        """A delivery with what sending it needs: its subscription and its event."""
        query = (
            select(
                deliveries,
                subscriptions.c.url,
                subscriptions.c.enabled,
                subscriptions.c.include_content,
                subscriptions.c.secret,
                subscriptions.c.previous_secret,
                subscriptions.c.previous_secret_expires_at,
                outbound_events.c.body,
                outbound_events.c.interaction_id,
            )
            .join(subscriptions, subscriptions.c.subscription_id == deliveries.c.subscription_id)
            .join(outbound_events, outbound_events.c.event_id == deliveries.c.event_id)
            .where(deliveries.c.delivery_id == delivery_id)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().one_or_none()
            return None if row is None else dict(row)

    def record_attempt(self, delivery_id: str, sent: bool, **values: Any) -> None:
        """The outcome of an attempt; `sent` counts it (a refused URL sends nothing)."""
        if sent:
            values["attempts"] = deliveries.c.attempts + 1
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.delivery_id == delivery_id)
                .values(**values, updated_at=_now())
            )

    def health(self) -> list[dict[str, Any]]:
        """Per subscription: deliveries by status, the last delivery, its mean latency, its
        breaker's state and why it was disabled."""
        query = (
            select(
                subscriptions.c.subscription_id,
                subscriptions.c.url,
                subscriptions.c.enabled,
                subscriptions.c.disabled_reason,
                subscriptions.c.breaker_state,
                deliveries.c.status,
                func.count(deliveries.c.delivery_id).label("deliveries"),
                func.avg(deliveries.c.last_latency_ms).label("mean_latency_ms"),
                func.max(deliveries.c.updated_at).label("last_activity_at"),
            )
            .select_from(
                subscriptions.outerjoin(
                    deliveries,
                    and_(deliveries.c.subscription_id == subscriptions.c.subscription_id),
                )
            )
            .group_by(
                subscriptions.c.subscription_id,
                subscriptions.c.url,
                subscriptions.c.enabled,
                subscriptions.c.disabled_reason,
                subscriptions.c.breaker_state,
                deliveries.c.status,
            )
        )
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]
