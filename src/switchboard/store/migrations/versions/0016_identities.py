"""Verified identities, merge and split (issue 30): whether an interaction's identity was
verified and what it claimed, who linked an identity by hand, merged customers, merge
suggestions, and the log of merges and splits the export recomputes from.

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from switchboard.store.timestamps import UTCDateTime

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("merged_into", sa.String(36)))
        batch.add_column(sa.Column("merged_at", UTCDateTime()))
    with op.batch_alter_table("identities") as batch:
        batch.add_column(sa.Column("linked_by", sa.String(320)))
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(
            sa.Column("identity_verified", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("claimed_identities", sa.JSON()))
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("workflow_customer_id", sa.String(36)))
    op.create_table(
        "merge_suggestions",
        sa.Column("suggestion_id", sa.String(36), primary_key=True),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("other_customer_id", sa.String(36), nullable=False),
        sa.Column("claim_kind", sa.String(16), nullable=False),
        sa.Column("interaction_id", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("dismissed_at", UTCDateTime()),
        sa.Column("dismissed_by", sa.String(320)),
        sa.UniqueConstraint(
            "interaction_id", "other_customer_id", "claim_kind", name="uq_merge_suggestions_claim"
        ),
    )
    op.create_index("ix_merge_suggestions_created_at", "merge_suggestions", ["created_at"])
    op.create_table(
        "customer_changes",
        sa.Column("change_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("other_customer_id", sa.String(36), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(320)),
    )
    op.create_index("ix_customer_changes_at", "customer_changes", ["at"])


def downgrade() -> None:
    op.drop_table("customer_changes")
    op.drop_table("merge_suggestions")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("workflow_customer_id")
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("claimed_identities")
        batch.drop_column("identity_verified")
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("linked_by")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("merged_at")
        batch.drop_column("merged_into")
