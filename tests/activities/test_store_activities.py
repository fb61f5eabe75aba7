from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from temporalio.testing import ActivityEnvironment

from activities import StoreActivities, normalize
from switchboard.contract import (
    DedupeInput,
    Identity,
    IdentityKind,
    PersistInput,
    Provider,
    Route,
    Status,
)
from switchboard.store import Store
from tests.support.builders import sms_input


def phone(value: str) -> Identity:
    return Identity(IdentityKind.PHONE, value)


def test_the_same_number_is_always_the_same_customer(store: Store) -> None:
    acts = StoreActivities(store)
    env = ActivityEnvironment()
    first = env.run(acts.dedupe, DedupeInput(Provider.TWILIO, "SM1", phone("+14155550123")))
    again = env.run(acts.dedupe, DedupeInput(Provider.TWILIO, "SM2", phone("+14155550123")))
    other = env.run(acts.dedupe, DedupeInput(Provider.TWILIO, "SM3", phone("+14155550124")))
    assert first.customer_id == again.customer_id != other.customer_id
    assert first.existing_interaction_id is None


def test_concurrent_first_sightings_agree_on_one_customer(store: Store) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(lambda _: store.resolve_customer(phone("+14155550999")), range(16)))
    assert len(ids) == 1
    found = store.find_customer(phone("+14155550999"))
    assert found is not None and found["customer_id"] in ids


def _interaction(store: Store, interaction_id: str) -> PersistInput:
    inp = sms_input()
    draft = ActivityEnvironment().run(normalize, inp)
    customer_id = store.resolve_customer(draft.customer_identity)
    interaction = draft.complete(
        interaction_id, customer_id, Route(queue="messaging", priority=2), Status.COMPLETED
    )
    return PersistInput(interaction=interaction, raw=inp.raw)


def test_persist_is_idempotent_and_keeps_the_first_id(store: Store) -> None:
    acts = StoreActivities(store)
    env = ActivityEnvironment()
    inp = _interaction(store, "00000000-0000-0000-0000-000000000001")
    first = env.run(acts.persist, inp)
    inp.interaction.interaction_id = "00000000-0000-0000-0000-000000000002"
    second = env.run(acts.persist, inp)
    assert first.created and not second.created
    assert second.interaction_id == first.interaction_id
    assert second.persisted_at == first.persisted_at
    dedupe = env.run(
        acts.dedupe,
        DedupeInput(
            Provider.TWILIO,
            inp.interaction.provider_message_id,
            phone(inp.interaction.from_address),
        ),
    )
    assert dedupe.existing_interaction_id == first.interaction_id
    stored = store.get_interaction(first.interaction_id)
    assert stored is not None and stored.content.text == "hi"
    assert stored.persisted_at is not None and stored.persisted_at.tzinfo is not None
