"""Erasure: tombstones of erased provider keys, and export partitions to rewrite.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from switchboard.store.timestamps import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erased_keys",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("erased_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "export_rewrites",
        sa.Column("dataset", sa.String(32), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("part", sa.String(32), primary_key=True),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("export_rewrites")
    op.drop_table("erased_keys")
