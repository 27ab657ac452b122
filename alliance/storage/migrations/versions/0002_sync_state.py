"""sync state, quarantine and products

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_state",
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("orders_bookmark", sa.DateTime(), nullable=True),
        sa.Column("trash_bookmark", sa.DateTime(), nullable=True),
        sa.Column("products_bookmark", sa.DateTime(), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("last_error_kind", sa.String(length=32), nullable=False),
        sa.Column("needs_attention", sa.Boolean(), nullable=False),
        sa.Column("ignores_modified_after", sa.Boolean(), nullable=False),
        sa.Column("store_orders_total", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("member", name=op.f("pk_sync_state")),
    )
    op.create_table(
        "quarantine",
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("date_modified", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("member", "external_id", name=op.f("pk_quarantine")),
    )
    op.create_table(
        "products",
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("permalink", sa.String(length=500), nullable=False),
        sa.Column("price", sa.String(length=32), nullable=False),
        sa.Column("regular_price", sa.String(length=32), nullable=False),
        sa.Column("on_sale", sa.Boolean(), nullable=False),
        sa.Column("image_url", sa.String(length=500), nullable=False),
        sa.Column("image_alt", sa.String(length=200), nullable=False),
        sa.Column("stock_status", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("category_names", sa.Text(), nullable=False),
        sa.Column("modified_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("member", "product_id", name=op.f("pk_products")),
    )
    op.create_index(op.f("ix_products_member_stock_status"), "products", ["member", "stock_status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_products_member_stock_status"), table_name="products")
    op.drop_table("products")
    op.drop_table("quarantine")
    op.drop_table("sync_state")
