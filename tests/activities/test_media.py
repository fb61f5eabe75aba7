"""copy_media alone (ActivityEnvironment), against a double of Twilio's API: what it copies,
what it records as not copied, and a copy that must not outlive an erasure made meanwhile."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.media import NOT_CONFIGURED, NOT_FOUND_ATTEMPTS, MediaActivities
from switchboard.blobs import BlobStore
from switchboard.contract import Content, CopyMediaInput, Identity, IdentityKind, MediaRef
from switchboard.store import Store
from switchboard.store.media import MediaStore
from switchboard.store.tables import media
from tests.support.builders import media_path, random_phone, sms_interaction, twilio_sid
from tests.support.pipeline import twilio_media
from tests.support.provider_double import CDN, ProviderDouble, provider_double


@pytest.fixture
def twilio() -> Iterator[ProviderDouble]:
    with provider_double() as double:
        yield double


def stored_mms(store: Store, paths: list[str]) -> str:
    """An MMS naming files at `paths` of Twilio's API, persisted (so its files are linked)."""
    phone = random_phone()
    customer = store.resolve_customer(Identity(IdentityKind.PHONE, phone))
    interaction, raw = sms_interaction(customer, phone, datetime.now(UTC))
    urls = [MediaRef("https://api.twilio.com" + path, "image/jpeg") for path in paths]
    interaction.content = Content(text="photos", media=urls)
    assert store.persist_interaction(interaction, raw).media_to_copy == len(paths)
    return interaction.interaction_id


def test_files_are_copied_once_and_those_gone_are_recorded(
    store: Store, tmp_path: Path, twilio: ProviderDouble
) -> None:
    kept, gone = media_path(twilio_sid("MM")), media_path(twilio_sid("MM"))
    twilio.files[kept] = (b"\xff\xd8" + secrets.token_bytes(64), "image/jpeg")
    interaction_id = stored_mms(store, [kept, gone])
    activities = twilio_media(store, tmp_path, twilio.url, 1024)
    # A 404 right after the webhook may mean "not yet": retried, then believed.
    with pytest.raises(ApplicationError, match="not fetchable from Twilio yet"):
        ActivityEnvironment().run(activities.copy_media, CopyMediaInput(interaction_id))
    later = ActivityEnvironment()
    later.info = replace(later.info, attempt=NOT_FOUND_ATTEMPTS)
    result = later.run(activities.copy_media, CopyMediaInput(interaction_id))
    assert (result.copied, result.failed) == (0, 1)  # the first was copied by attempt 1
    files = MediaStore(store.engine)
    first, second = files.served(interaction_id, 0), files.served(interaction_id, 1)
    assert first is not None and first.blob_ref is not None
    assert BlobStore(tmp_path / "blobs").get(first.blob_ref) == twilio.files[kept][0]
    assert second is not None and second.blob_ref is None and second.error == "Twilio answered 404"
    # Run again (a retried attempt): nothing left to fetch.
    again = ActivityEnvironment().run(activities.copy_media, CopyMediaInput(interaction_id))
    assert (again.copied, again.failed) == (0, 0)
    fetched = [r.path for r in twilio.requests if r.method == "GET"]
    assert fetched.count(kept) == 1 and fetched.count(gone) == 2
    # Twilio's redirect to its CDN is followed without the account's credentials.
    cdn = [r for r in twilio.requests if r.path.startswith(CDN)]
    assert len(cdn) == 1 and "authorization" not in cdn[0].headers


def test_without_credentials_nothing_is_fetched_and_the_reason_is_recorded(
    store: Store, twilio: ProviderDouble
) -> None:
    interaction_id = stored_mms(store, [media_path(twilio_sid("MM"))])
    activities = MediaActivities(MediaStore(store.engine))
    result = ActivityEnvironment().run(activities.copy_media, CopyMediaInput(interaction_id))
    assert result.failed == 1 and twilio.requests == []
    found = MediaStore(store.engine).served(interaction_id, 0)
    assert found is not None and found.error == NOT_CONFIGURED


def test_a_file_erased_while_it_was_fetched_leaves_no_blob(
    store: Store, tmp_path: Path, twilio: ProviderDouble
) -> None:
    path = media_path(twilio_sid("MM"))
    twilio.files[path] = (secrets.token_bytes(64), "image/jpeg")
    interaction_id = stored_mms(store, [path])

    def erase(_: str) -> None:
        with store.engine.begin() as conn:
            conn.execute(delete(media).where(media.c.interaction_id == interaction_id))

    twilio.while_serving = erase
    activities = twilio_media(store, tmp_path, twilio.url, 1024)
    result = ActivityEnvironment().run(activities.copy_media, CopyMediaInput(interaction_id))
    assert result.copied == 0
    assert not any(p.is_file() for p in (tmp_path / "blobs").rglob("*"))
