"""Named API keys: each with a role, kept only as a SHA-256 hash of the key.

The keys are 256 random bits, so a fast hash is enough (as GitHub and Stripe keep theirs): no
dictionary can guess them, and a lookup by hash needs no constant-time comparison.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from switchboard.store.engine import write_transaction
from switchboard.store.tables import api_keys

PREFIX = "sbk_"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# Writing `last_used_at` on every request would make each read a write; a minute is enough.
TOUCH_EVERY = timedelta(seconds=60)


class KeyNameTaken(ValueError):
    """A key with that name exists (revoked names stay taken, so the audit log stays clear)."""


@dataclass(frozen=True)
class KeyInfo:
    name: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    """The `api_keys` table; shares the process's engine with `Store`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, name: str, role: str) -> str:
        """A new key for `name`, returned once; only its hash is stored."""
        if not NAME.match(name):
            raise ValueError("a key name is 1-64 of a-z, 0-9, '.', '_', '-', starting alphanumeric")
        key = PREFIX + secrets.token_urlsafe(32)
        row = {"name": name, "key_hash": key_hash(key), "role": role}
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(api_keys.insert().values(**row, created_at=datetime.now(UTC)))
        except IntegrityError as exc:
            raise KeyNameTaken(f"a key named {name!r} exists already") from exc
        return key

    def authenticate(self, key: str) -> KeyInfo | None:
        """The live key behind `key`, its last use recorded; None when unknown or revoked."""
        digest = key_hash(key)
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(api_keys).where(api_keys.c.key_hash == digest))
                .mappings()
                .one_or_none()
            )
        if row is None or row["revoked_at"] is not None:
            return None
        now = datetime.now(UTC)
        last = row["last_used_at"]
        if last is None or now - last > TOUCH_EVERY:
            with write_transaction(self.engine) as conn:
                conn.execute(
                    api_keys.update().where(api_keys.c.key_hash == digest).values(last_used_at=now)
                )
            last = now
        return KeyInfo(row["name"], row["role"], row["created_at"], last, None)

    def list(self) -> list[KeyInfo]:
        """Every key, revoked ones too, by name; never the key."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(api_keys).order_by(api_keys.c.name)).mappings()
            return [
                KeyInfo(r["name"], r["role"], r["created_at"], r["last_used_at"], r["revoked_at"])
                for r in rows
            ]

    def revoke(self, name: str) -> bool:
        """Revoke the key; False when there is no live key of that name."""
        with write_transaction(self.engine) as conn:
            done = conn.execute(
                api_keys.update()
                .where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
            return done.rowcount == 1
