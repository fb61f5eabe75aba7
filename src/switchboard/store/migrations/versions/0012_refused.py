"""Refused deliveries: webhook requests refused by the ingress, counted per minute and reason.

Revision ID: 0010
Revises: 0011
Create Date: 2026-12-01

It came in after 0011: the file is named 0012 so the files sort in chain order; databases are
stamped with the revision id, which stays 0010.
"""

import sqlalchemy as sa
from alembic import op

from switchboard.store.timestamps import UTCDateTime

revision = "0010"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refused_deliveries",
        sa.Column("minute", UTCDateTime(), primary_key=True),
        sa.Column("provider", sa.String(16), primary_key=True),
        sa.Column("endpoint", sa.String(64), primary_key=True),
        sa.Column("reason", sa.String(16), primary_key=True),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_refused_deliveries_updated_at", "refused_deliveries", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_refused_deliveries_updated_at", table_name="refused_deliveries")
    op.drop_table("refused_deliveries")
