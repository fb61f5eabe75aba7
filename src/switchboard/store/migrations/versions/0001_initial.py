"""Customers and their identities, interactions, and the raw event archive.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from switchboard.store.timestamps import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.String(36), primary_key=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "identities",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("value", sa.String(320), primary_key=True),
        sa.Column(
            "customer_id", sa.String(36), sa.ForeignKey("customers.customer_id"), nullable=False
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_identities_customer_id", "identities", ["customer_id"])
    op.create_table(
        "interactions",
        sa.Column("interaction_id", sa.String(36), primary_key=True),
        sa.Column(
            "customer_id", sa.String(36), sa.ForeignKey("customers.customer_id"), nullable=False
        ),
        sa.Column("conversation_id", sa.String(64)),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("provider_message_id", sa.String(255), nullable=False),
        sa.Column("from_address", sa.String(320), nullable=False),
        sa.Column("to_address", sa.String(320), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("persisted_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("delivery_status", sa.String(32)),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("route_queue", sa.String(64), nullable=False),
        sa.Column("route_priority", sa.Integer(), nullable=False),
        sa.Column("sla_due_at", UTCDateTime()),
        sa.UniqueConstraint(
            "provider", "provider_message_id", name="uq_interactions_provider_message"
        ),
    )
    op.create_index(
        "ix_interactions_customer_timeline",
        "interactions",
        ["customer_id", "occurred_at", "interaction_id"],
    )
    op.create_table(
        "raw_events",
        sa.Column("raw_event_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("event_key", sa.String(255), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.UniqueConstraint("provider", "kind", "event_key", name="uq_raw_events_key"),
    )


def downgrade() -> None:
    op.drop_table("raw_events")
    op.drop_index("ix_interactions_customer_timeline", table_name="interactions")
    op.drop_table("interactions")
    op.drop_index("ix_identities_customer_id", table_name="identities")
    op.drop_table("identities")
    op.drop_table("customers")
