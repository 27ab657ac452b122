"""store connections: stores connected the WooCommerce way, keys encrypted at rest (issue 15)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 23:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_connections",
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("store_url", sa.String(length=500), nullable=False),
        sa.Column("key_id", sa.BigInteger(), nullable=False),
        sa.Column("key_permissions", sa.String(length=16), nullable=False),
        sa.Column("consumer_key", sa.Text(), nullable=False),
        sa.Column("consumer_secret", sa.Text(), nullable=False),
        sa.Column("webhooks", sa.Text(), nullable=False),
        sa.Column("connected_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("member", name=op.f("pk_store_connections")),
    )
    op.create_table(
        "connect_states",
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_connect_states")),
    )


def downgrade() -> None:
    op.drop_table("connect_states")
    op.drop_table("store_connections")
