"""group profiles: de-identified group profiles of orders, for partner fit (issue 16)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 23:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_profiles",
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("categories", sa.String(length=500), nullable=False),
        sa.Column("value_band", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("member", "external_id", name=op.f("pk_order_profiles")),
    )
    op.create_index(
        "ix_orders_member_customer_sales",
        "orders",
        ["member", "customer_key", "sale_at", "status"],
    )


def downgrade() -> None:
    op.drop_index("ix_orders_member_customer_sales", table_name="orders")
    op.drop_table("order_profiles")
