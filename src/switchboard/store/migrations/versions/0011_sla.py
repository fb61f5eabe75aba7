"""SLA policies: each interaction keeps the SLA targets and calendar its route gave it, so the
conversation it opens measures them (it reads interactions from the store).

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(sa.Column("route_sla", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("route_sla")
