"""Conversations' last activity and whether they wait on the customer, so a message that
changes neither state nor clock is threaded by its own persist step
(`store.conversation_threading`).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

from switchboard.store.timestamps import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("last_activity_at", UTCDateTime()))
        # NULL: not recorded since this column came (its conversation is signalled).
        batch.add_column(sa.Column("awaiting_customer", sa.Boolean()))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("awaiting_customer")
        batch.drop_column("last_activity_at")
