"""purge_expired: raw payloads emptied, then rows deleted, once past their retention."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from activities.retention import Retention, RetentionActivities
from switchboard.store import Store
from switchboard.store.store import PURGED
from switchboard.store.tables import raw_events
from tests.support.builders import sms_raw


def test_retention_empties_old_payloads_and_deletes_old_rows(store: Store) -> None:
    old, recent = sms_raw(), sms_raw()
    old.received_at -= timedelta(days=40)
    for raw in (old, recent):
        store.record_failure(raw, "kept for the test")
    purge = RetentionActivities(store, Retention(payload_days=30)).purge
    assert purge().payloads_purged == 1
    assert purge().payloads_purged == 0  # already empty
    with store.engine.connect() as conn:
        rows = {r.event_key: r for r in conn.execute(select(raw_events))}
    assert rows[old.event_key].fields == [] and rows[old.event_key].url == PURGED
    assert rows[recent.event_key].fields != []

    deleted = RetentionActivities(store, Retention(row_days=30)).purge()
    assert deleted.rows_deleted == 1
    with store.engine.connect() as conn:
        assert [r.event_key for r in conn.execute(select(raw_events))] == [recent.event_key]


def test_nothing_is_purged_by_default(store: Store) -> None:
    old = sms_raw()
    old.received_at -= timedelta(days=4000)
    store.record_failure(old, "kept for the test")
    result = RetentionActivities(store, Retention()).purge()
    assert (result.payloads_purged, result.rows_deleted) == (0, 0)
