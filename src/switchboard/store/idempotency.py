"""The first answer of each idempotent API call, per credential and Idempotency-Key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Engine, delete, select, update

from switchboard.store.engine import upsert, write_transaction
from switchboard.store.tables import idempotency_keys as keys


class Outcome(StrEnum):
    NEW = "new"  # the caller does the work, then `complete`s (or `release`s) the key
    REPLAY = "replay"  # done before: `status` and `answer` are the first call's
    MISMATCH = "mismatch"  # the key was used for another request
    IN_PROGRESS = "in_progress"  # the first call has not answered yet


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    status: int | None = None
    answer: bytes | None = None


class IdempotencyKeys:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(
        self,
        actor: str,
        key: str,
        fingerprint: str,
        now: datetime,
        ttl: timedelta,
        abandoned_after: timedelta,
    ) -> Claim:
        """Take the key for a new call, or say what became of the call that took it.

        A call still unanswered after `abandoned_after` is taken to have died with its process:
        the next one with the same request takes the key over (and does the call, which for
        a conversation action Temporal deduplicates by its update id).
        """
        row = {
            "actor": actor,
            "idempotency_key": key,
            "fingerprint": fingerprint,
            "created_at": now,
            "expires_at": now + ttl,
        }
        this = (keys.c.actor == actor) & (keys.c.idempotency_key == key)
        with write_transaction(self.engine) as conn:
            # An expired key is free again.
            conn.execute(delete(keys).where(this, keys.c.expires_at <= now))
            inserted = conn.execute(
                upsert(conn, keys)
                .values(**row)
                .on_conflict_do_nothing()
                .returning(keys.c.created_at)
            ).first()
            if inserted is not None:
                return Claim(Outcome.NEW)
            found = conn.execute(select(keys).where(this)).mappings().one()
            if found["fingerprint"] != fingerprint:
                return Claim(Outcome.MISMATCH)
            if found["status"] is None:
                if found["created_at"] > now - abandoned_after:
                    return Claim(Outcome.IN_PROGRESS)
                taken = conn.execute(
                    update(keys)
                    .where(this, keys.c.created_at == found["created_at"])
                    .values(created_at=now)
                ).rowcount
                return Claim(Outcome.NEW if taken == 1 else Outcome.IN_PROGRESS)
        return Claim(Outcome.REPLAY, found["status"], found["answer"])

    def complete(self, actor: str, key: str, status: int, answer: bytes) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(keys)
                .where(keys.c.actor == actor, keys.c.idempotency_key == key)
                .values(status=status, answer=answer)
            )

    def release(self, actor: str, key: str) -> None:
        """Forget a call that did not finish, so a retry does it."""
        with write_transaction(self.engine) as conn:
            conn.execute(
                delete(keys).where(
                    keys.c.actor == actor, keys.c.idempotency_key == key, keys.c.status.is_(None)
                )
            )
