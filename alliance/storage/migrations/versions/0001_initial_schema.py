"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 14:52:12.551118
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agreement_versions",
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_agreement_versions")),
    )
    op.create_table(
        "clicks",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("source_member", sa.String(length=64), nullable=False),
        sa.Column("target_member", sa.String(length=64), nullable=False),
        sa.Column("deal_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("placement", sa.String(length=32), nullable=False),
        sa.Column("clicked_at", sa.DateTime(), nullable=False),
        sa.Column("visitor_key", sa.String(length=64), nullable=False),
        sa.Column("agent_class", sa.String(length=16), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("invalid_reason", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clicks")),
    )
    op.create_table(
        "gift_coupons",
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("promotion_id", sa.String(length=64), nullable=False),
        sa.Column("trigger_ref", sa.String(length=140), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("member", "code", name=op.f("pk_gift_coupons")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("source_ref", sa.String(length=140), nullable=False),
        sa.Column("revision", sa.String(length=48), nullable=False),
        sa.Column("deal_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("payer", sa.String(length=64), nullable=False),
        sa.Column("payee", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("base_minor", sa.BigInteger(), nullable=True),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("agreement_version", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=140), nullable=False),
        sa.Column("booked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_entries_period"), ["period"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_source_ref"), ["source_ref"], unique=False
        )

    op.create_table(
        "orders",
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.String(length=48), nullable=False),
        sa.Column("source_digest", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("sale_at", sa.DateTime(), nullable=False),
        sa.Column("items_total_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False),
        sa.Column("customer_key", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("referrer", sa.String(length=64), nullable=True),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("booked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("member", "external_id", name=op.f("pk_orders")),
    )
    op.create_table(
        "periods",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_periods")),
    )


def downgrade() -> None:
    op.drop_table("periods")
    op.drop_table("orders")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_source_ref"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_period"))

    op.drop_table("ledger_entries")
    op.drop_table("gift_coupons")
    op.drop_table("clicks")
    op.drop_table("agreement_versions")
