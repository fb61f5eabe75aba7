"""The files of an interaction, linked to it when it is persisted: served, copied, erased by link.

An email's attachments (blobs written by the ingress) and its raw MIME, an MMS's media and a
call's recording (Twilio URLs, copied into the blob store by the interaction's workflow) are
rows of `media`. The raw event an interaction came from carries its `interaction_id`. Erasure,
retention and merge find a customer's files and raw events through these links.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from switchboard.blobs import PREFIX as BLOB_PREFIX
from switchboard.contract import CustomerInteraction, Provider, RawEvent
from switchboard.store.engine import upsert, write_transaction
from switchboard.store.tables import media, raw_events

ATTACHMENT = "attachment"
MMS = "mms"
RECORDING = "recording"
RAW = "raw"
# The kinds held at Twilio until copied.
AT_TWILIO = frozenset({MMS, RECORDING})
MAX_ERROR_CHARS = 200


@dataclass(frozen=True)
class MediaFile:
    """One file of an interaction, as `media` keeps it."""

    interaction_id: str
    media_key: str
    kind: str
    position: int | None
    content_type: str | None
    filename: str | None
    size_bytes: int | None
    blob_ref: str | None
    source_url: str | None
    error: str | None


def _key(url: str) -> str:
    # Twilio's URLs are ~120 characters; a longer one is keyed by its hash.
    return url if len(url) <= 512 else "sha256:" + hashlib.sha256(url.encode()).hexdigest()


def files_of(interaction: CustomerInteraction, raw: RawEvent | None) -> list[dict[str, Any]]:
    """The `media` rows an event brings, without position or timestamps (not yet numbered)."""
    rows: list[dict[str, Any]] = []
    for n, item in enumerate(interaction.content.media):
        stored = item.url.startswith(BLOB_PREFIX)
        rows.append(
            {
                "media_key": f"{ATTACHMENT}:{n}" if stored else _key(item.url),
                "kind": ATTACHMENT if stored else MMS,
                "content_type": item.content_type,
                "filename": item.filename,
                "size_bytes": item.size_bytes,
                "blob_ref": item.url if stored else None,
                "source_url": None if stored else item.url,
            }
        )
    if interaction.content.audio_url:
        url = interaction.content.audio_url
        rows.append({"media_key": _key(url), "kind": RECORDING, "source_url": url})
    if raw is not None and raw.provider is Provider.SENDGRID and raw.kind == "email":
        ref = dict(raw.fields).get("raw", "")
        if ref.startswith(BLOB_PREFIX):
            rows.append({"media_key": RAW, "kind": RAW, "blob_ref": ref})
    return rows


def link(
    conn: Connection,
    interaction_id: str,
    interaction: CustomerInteraction,
    raw: RawEvent | None,
    now: datetime,
) -> int:
    """Link the event's raw event and files to the interaction (idempotent); return how many
    of its files wait at Twilio to be copied.

    Run while the interaction's row is locked, so the positions of files arriving by two
    events at once (a recording's status callback and its action) do not collide.
    """
    if raw is not None:
        conn.execute(
            raw_events.update()
            .where(
                raw_events.c.provider == raw.provider,
                raw_events.c.kind == raw.kind,
                raw_events.c.event_key == raw.event_key,
                raw_events.c.interaction_id.is_(None),
            )
            .values(interaction_id=interaction_id)
        )
    rows = files_of(interaction, raw)
    if not rows:
        return 0
    known = {
        key
        for (key,) in conn.execute(
            select(media.c.media_key).where(media.c.interaction_id == interaction_id)
        )
    }
    position = conn.execute(
        select(func.count())
        .select_from(media)
        .where(media.c.interaction_id == interaction_id, media.c.position.is_not(None))
    ).scalar_one()
    for row in rows:
        if row["media_key"] in known:
            continue
        known.add(row["media_key"])
        served = row["kind"] != RAW
        conn.execute(
            upsert(conn, media)
            .values(
                interaction_id=interaction_id,
                position=position if served else None,
                created_at=now,
                **row,
            )
            .on_conflict_do_nothing()
        )
        position += served
    return len(pending(conn, interaction_id))


def pending(conn: Connection, interaction_id: str) -> list[MediaFile]:
    """The interaction's files still only at Twilio (neither copied nor failed for good)."""
    query = select(media).where(
        media.c.interaction_id == interaction_id,
        media.c.kind.in_(AT_TWILIO),
        media.c.blob_ref.is_(None),
        media.c.error.is_(None),
    )
    return [_file(row) for row in conn.execute(query.order_by(media.c.position)).mappings()]


class MediaStore:
    """Reads and writes of `media` for the API and the copy activity."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def pending(self, interaction_id: str) -> list[MediaFile]:
        with self.engine.connect() as conn:
            return pending(conn, interaction_id)

    def served(self, interaction_id: str, index: int) -> MediaFile | None:
        """The file at `index` of what the interaction serves (None: out of range)."""
        query = (
            select(media)
            .where(media.c.interaction_id == interaction_id, media.c.position == index)
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _file(row)

    def copied(
        self, file: MediaFile, blob_ref: str, content_type: str | None, size_bytes: int
    ) -> bool:
        """Record the copy; False when the file's row is gone (erased while it was fetched)."""
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                media.update()
                .where(*_row(file))
                .values(
                    blob_ref=blob_ref,
                    content_type=content_type or file.content_type,
                    size_bytes=size_bytes,
                    error=None,
                )
            )
        return bool(result.rowcount)

    def names(self, blob_ref: str) -> bool:
        """Whether any interaction's file is this blob (content-addressed blobs are shared)."""
        with self.engine.connect() as conn:
            query = select(media.c.blob_ref).where(media.c.blob_ref == blob_ref).limit(1)
            return conn.execute(query).first() is not None

    def failed(self, file: MediaFile, reason: str) -> None:
        """Record why a file could not be copied for good; the interaction stands without it."""
        with write_transaction(self.engine) as conn:
            conn.execute(media.update().where(*_row(file)).values(error=reason[:MAX_ERROR_CHARS]))


def _row(file: MediaFile) -> tuple[Any, ...]:
    return (media.c.interaction_id == file.interaction_id, media.c.media_key == file.media_key)


def _file(row: Any) -> MediaFile:
    return MediaFile(**{name: row[name] for name in MediaFile.__dataclass_fields__})
