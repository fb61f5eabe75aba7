"""Each subscription's circuit breaker and how long its deliveries have all failed.

Revision ID: 0019
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from switchboard.store.timestamps import UTCDateTime

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(
            sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("failing_since", UTCDateTime()))
        batch.add_column(
            sa.Column("breaker_state", sa.String(16), nullable=False, server_default="closed")
        )
        batch.add_column(sa.Column("breaker_until", UTCDateTime()))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("breaker_until")
        batch.drop_column("breaker_state")
        batch.drop_column("failing_since")
        batch.drop_column("consecutive_failures")
