"""The store's identity links and reads (what the API serves), on each backend."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from switchboard.contract import Identity, IdentityKind
from switchboard.store import Store
from tests.support.builders import sms_interaction, sms_raw

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def phone(value: str) -> Identity:
    return Identity(IdentityKind.PHONE, value)


def email(value: str) -> Identity:
    return Identity(IdentityKind.EMAIL, value)


def test_a_customer_is_found_by_any_identity_with_all_of_them(store: Store) -> None:
    customer_id = store.resolve_customer(phone("+14155550131"))
    assert store.link_identity(customer_id, email("ana@example.com"), "key:desk") == customer_id
    found = store.find_customer(email("ana@example.com"))
    assert found is not None and found["customer_id"] == customer_id
    assert found["identities"] == [
        {"kind": "email", "value": "ana@example.com", "linked_by": "key:desk"},
        {"kind": "phone", "value": "+14155550131", "linked_by": None},
    ]
    assert found["merged_into"] is None
    assert found["created_at"].tzinfo is not None
    assert store.get_customer(customer_id) == found
    assert store.find_customer(phone("+14155550132")) is None
    assert store.get_customer(str(uuid.uuid4())) is None


def test_an_identity_stays_with_the_customer_who_has_it(store: Store) -> None:
    ana = store.resolve_customer(phone("+14155550133"))
    ben = store.resolve_customer(phone("+14155550134"))
    shared = email("shared@example.com")
    assert store.link_identity(ana, shared) == ana
    assert store.link_identity(ana, shared) == ana  # again: nothing changes
    assert store.link_identity(ben, shared) == ana  # someone else's: left where it is
    assert store.link_identity(str(uuid.uuid4()), email("nobody@example.com")) is None
    assert store.find_customer(email("nobody@example.com")) is None
    # A claim of Ana's address finds nobody and takes nothing: a customer of its own.
    claimed = store.resolve_customer(
        Identity(IdentityKind.EMAIL, shared.value, verified=False), "claim-key"
    )
    assert claimed not in (ana, ben)
    assert store.find_customer(shared)["customer_id"] == ana  # type: ignore[index]


def test_the_timeline_pages_newest_first_through_equal_timestamps(store: Store) -> None:
    number = "+14155550135"
    customer_id = store.resolve_customer(phone(number))
    minutes = [0, 1, 1, 1, 2]  # three interactions at the same instant
    stored = []
    for minute in minutes:
        interaction, raw = sms_interaction(customer_id, number, START + timedelta(minutes=minute))
        persisted = store.persist_interaction(interaction, raw)
        stored.append((interaction.occurred_at, persisted.interaction_id))

    pages, before = [], None
    while page := store.list_interactions(customer_id, limit=2, before=before):
        pages.append([found.interaction_id for found in page])
        before = (page[-1].occurred_at, page[-1].interaction_id)

    newest_first = [interaction_id for _, interaction_id in sorted(stored, reverse=True)]
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [interaction_id for page in pages for interaction_id in page] == newest_first
    oldest = store.get_interaction(newest_first[-1])
    assert oldest is not None and oldest.occurred_at == START  # time zone kept


def test_the_archive_is_read_back_a_page_at_a_time_within_its_window(store: Store) -> None:
    number = "+14155550136"
    customer_id = store.resolve_customer(phone(number))
    raws = []
    for i in range(5):
        interaction, raw = sms_interaction(customer_id, number, START + timedelta(minutes=i))
        if i % 2:
            store.record_failure(raw, f"reason {i}")
        else:
            store.persist_interaction(interaction, raw)
        raws.append(raw)
    store.record_failure(sms_raw(), "received now, outside the window")

    until = START + timedelta(minutes=4)
    window = list(store.raw_events_between(START + timedelta(minutes=1), until, page=2))
    assert [(raw.event_key, error) for raw, error in window] == [
        (raws[1].event_key, "reason 1"),
        (raws[2].event_key, None),
        (raws[3].event_key, "reason 3"),
    ]
    assert window[1][0] == raws[2]  # fields, headers and time as they came in
    failed = list(store.raw_events_between(START, until, only_failed=True, page=1))
    assert [raw.event_key for raw, _ in failed] == [raws[1].event_key, raws[3].event_key]
