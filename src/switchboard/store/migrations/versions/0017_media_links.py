"""Links for erasure: each raw event to its interaction, each file of an interaction in `media`.

Backfilled from what is stored: a raw event is parsed again to find the interaction it made
or merged into (one whose payload retention purged is matched by its key), and each
interaction's attachments, raw email, MMS media and recording become its `media` rows.
Twilio's files named before this revision stay at Twilio (no copy is fetched here).

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-07
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from switchboard.contract import RawEvent
from switchboard.errors import MalformedPayload
from switchboard.providers import PARSERS
from switchboard.store import media as media_links
from switchboard.store.rows import interaction_from_row, raw_event_from_row
from switchboard.store.tables import interactions, raw_events
from switchboard.store.timestamps import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

PAGE = 1000


def upgrade() -> None:
    op.add_column("raw_events", sa.Column("interaction_id", sa.String(36)))
    op.create_index("ix_raw_events_interaction_id", "raw_events", ["interaction_id"])
    op.create_table(
        "media",
        sa.Column("interaction_id", sa.String(36), primary_key=True),
        sa.Column("media_key", sa.String(512), primary_key=True),
        sa.Column("position", sa.Integer()),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("content_type", sa.String(255)),
        sa.Column("filename", sa.String(255)),
        sa.Column("size_bytes", sa.Integer()),
        sa.Column("blob_ref", sa.String(80)),
        sa.Column("source_url", sa.Text()),
        sa.Column("error", sa.String(200)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_media_blob_ref", "media", ["blob_ref"])
    conn = op.get_bind()
    _link_raw_events(conn)
    _link_files(conn)


def _message_id(raw: RawEvent) -> str | None:
    parse = PARSERS.get((raw.provider, raw.kind))
    if parse is None or not raw.fields:
        return None
    try:
        return parse(raw.fields, raw.received_at).interaction.provider_message_id
    except (MalformedPayload, ValueError, KeyError, TypeError):
        return None


def _link_raw_events(conn: sa.Connection) -> None:
    after = 0
    while True:
        rows = (
            conn.execute(
                sa.select(raw_events)
                .where(raw_events.c.raw_event_id > after)
                .order_by(raw_events.c.raw_event_id)
                .limit(PAGE)
            )
            .mappings()
            .all()
        )
        for row in rows:
            raw = raw_event_from_row(row)
            # Purged payloads: the key is the message id, or begins with it (`<sid>:status:…`).
            key = _message_id(raw) or raw.event_key.split(":", 1)[0]
            found = conn.execute(
                sa.select(interactions.c.interaction_id).where(
                    interactions.c.provider == raw.provider,
                    interactions.c.provider_message_id == key,
                )
            ).scalar_one_or_none()
            if found is not None:
                conn.execute(
                    raw_events.update()
                    .where(raw_events.c.raw_event_id == row["raw_event_id"])
                    .values(interaction_id=found)
                )
        if len(rows) < PAGE:
            return
        after = rows[-1]["raw_event_id"]


def _link_files(conn: sa.Connection) -> None:
    now = datetime.now(UTC)
    after = ""
    while True:
        rows = (
            conn.execute(
                sa.select(interactions)
                .where(interactions.c.interaction_id > after)
                .order_by(interactions.c.interaction_id)
                .limit(PAGE)
            )
            .mappings()
            .all()
        )
        for row in rows:
            interaction = interaction_from_row(row)
            email = (
                conn.execute(
                    sa.select(raw_events).where(
                        raw_events.c.interaction_id == interaction.interaction_id,
                        raw_events.c.provider == "sendgrid",
                        raw_events.c.kind == "email",
                    )
                )
                .mappings()
                .first()
            )
            raw = raw_event_from_row(email) if email is not None else None
            media_links.link(conn, interaction.interaction_id, interaction, raw, now)
        if len(rows) < PAGE:
            return
        after = rows[-1]["interaction_id"]


def downgrade() -> None:
    op.drop_index("ix_media_blob_ref", table_name="media")
    op.drop_table("media")
    op.drop_index("ix_raw_events_interaction_id", table_name="raw_events")
    with op.batch_alter_table("raw_events") as batch:
        batch.drop_column("interaction_id")
