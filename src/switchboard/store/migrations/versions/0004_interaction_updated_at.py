"""When each interaction last changed, so exports can pick up merges incrementally; and an index
on when it happened, so an export reads one day's partition without scanning them all.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from switchboard.store.timestamps import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(sa.Column("updated_at", UTCDateTime(), nullable=True))
    op.execute("UPDATE interactions SET updated_at = persisted_at")
    op.create_index("ix_interactions_updated_at", "interactions", ["updated_at"])
    op.create_index("ix_interactions_occurred_at", "interactions", ["occurred_at", "channel"])


def downgrade() -> None:
    op.drop_index("ix_interactions_occurred_at", "interactions")
    op.drop_index("ix_interactions_updated_at", "interactions")
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("updated_at")
