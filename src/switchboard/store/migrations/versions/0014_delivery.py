"""Deliveries scheduled in the store: the step of the retry schedule, and the index of due ones.

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "deliveries",
        sa.Column("schedule_step", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index(
        "ix_deliveries_due", "deliveries", ["subscription_id", "status", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("schedule_step")
