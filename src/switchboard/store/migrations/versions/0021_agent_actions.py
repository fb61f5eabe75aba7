"""Agent actions on conversations: labels, the disposition of the resolution, the CSAT score.

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("labels", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("disposition", sa.String(64)))
        batch.add_column(sa.Column("csat_score", sa.Integer()))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("csat_score")
        batch.drop_column("disposition")
        batch.drop_column("labels")
