"""Named keys are kept as hashes only; the audit log filters by time and actor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from switchboard.store import ApiKeys, AuditEntry, AuditLog, KeyNameTaken, Store, rate_limits
from switchboard.store.idempotency import IdempotencyKeys, Outcome
from switchboard.store.tables import api_keys


def test_a_key_is_stored_as_a_hash_and_stops_working_when_revoked(store: Store) -> None:
    keys = ApiKeys(store.engine)
    key = keys.create("ana", "agent")
    with store.engine.connect() as conn:
        stored = conn.execute(select(api_keys)).mappings().one()
    assert key not in str(dict(stored))
    found = keys.authenticate(key)
    assert found is not None and (found.name, found.role) == ("ana", "agent")
    assert found.last_used_at is not None
    assert keys.authenticate(key + "x") is None
    with pytest.raises(KeyNameTaken):
        keys.create("ana", "admin")
    assert keys.revoke("ana") and not keys.revoke("ana")
    assert keys.authenticate(key) is None
    assert [k.revoked_at is not None for k in keys.list()] == [True]


def test_the_audit_log_filters_by_time_and_actor(store: Store) -> None:
    audit = AuditLog(store)  # a Store or its engine
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    audit.record(AuditEntry("POST", "/api/x", 200, actor="key:ana", at=start))
    audit.record(
        method="CLI",
        route="erase",
        status=0,
        actor="cli:root",
        target="c-1",
        detail={"interactions": 3},
        at=start + timedelta(minutes=5),
    )
    assert [e["actor"] for e in audit.list()] == ["cli:root", "key:ana"]
    assert [e["route"] for e in audit.list(actor="key:ana")] == ["/api/x"]
    later = audit.list(since=start + timedelta(minutes=1))
    assert [(e["target"], e["detail"]) for e in later] == [("c-1", {"interactions": 3})]
    assert audit.list(until=start) == []


def test_an_idempotency_key_is_claimed_once_replayed_and_freed(store: Store) -> None:
    keys = IdempotencyKeys(store.engine)
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    day, abandoned = timedelta(hours=24), timedelta(minutes=2)

    def claim(fingerprint: str, at: datetime, actor: str = "key:ana") -> Outcome:
        return keys.claim(actor, "k-1", fingerprint, at, day, abandoned).outcome

    assert claim("body-a", now) is Outcome.NEW
    assert claim("body-a", now) is Outcome.IN_PROGRESS
    assert claim("body-b", now) is Outcome.MISMATCH
    assert claim("body-a", now, actor="key:bo") is Outcome.NEW  # keys are per credential
    keys.complete("key:ana", "k-1", 201, b"sealed")
    replay = keys.claim("key:ana", "k-1", "body-a", now, day, abandoned)
    assert (replay.outcome, replay.status, replay.answer) == (Outcome.REPLAY, 201, b"sealed")
    assert claim("body-b", now + day) is Outcome.NEW  # expired: free again

    # A call that never answered is taken over, once; one that failed is forgotten.
    assert claim("body-a", now, actor="key:cy") is Outcome.NEW
    later = now + abandoned + timedelta(seconds=1)
    assert claim("body-a", later, actor="key:cy") is Outcome.NEW
    assert claim("body-a", later, actor="key:cy") is Outcome.IN_PROGRESS
    keys.release("key:cy", "k-1")
    assert claim("body-a", later, actor="key:cy") is Outcome.NEW


def test_rate_limit_windows_count_per_actor_bucket_and_window(store: Store) -> None:
    start = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    counts = [rate_limits.count(store.engine, "key:ana", "actions", start) for _ in range(3)]
    assert counts == [1, 2, 3]
    assert rate_limits.count(store.engine, "key:bo", "actions", start) == 1
    assert rate_limits.count(store.engine, "key:ana", "reads", start) == 1
    assert rate_limits.count(store.engine, "key:ana", "actions", start + timedelta(minutes=1)) == 1
