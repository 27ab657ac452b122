"""gift packs: the packs, the state of each gift coupon, and product SKUs

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 09:00:00

Gift coupons stored before this revision keep meaning what they meant (coupons that exist):
their state defaults to ``created``. Products gain their SKU, and every member's products
bookmark is cleared so the next sync reads the SKUs of products stored before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gift_packs",
        sa.Column("promotion_id", sa.String(length=64), nullable=False),
        sa.Column("trigger_ref", sa.String(length=140), nullable=False),
        sa.Column("trigger_member", sa.String(length=64), nullable=False),
        sa.Column("trigger_order_id", sa.String(length=64), nullable=False),
        sa.Column("trigger_order_number", sa.String(length=64), nullable=False),
        sa.Column("sale_at", sa.DateTime(), nullable=False),
        sa.Column("qualified_at", sa.DateTime(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("agreement_version", sa.String(length=32), nullable=False),
        sa.Column("note_intent_at", sa.DateTime(), nullable=True),
        sa.Column("note_intent_codes", sa.Text(), server_default="[]", nullable=False),
        sa.Column("first_note_at", sa.DateTime(), nullable=True),
        sa.Column("first_note_codes", sa.Text(), server_default="[]", nullable=False),
        sa.Column("late_note_at", sa.DateTime(), nullable=True),
        sa.Column("late_note_codes", sa.Text(), server_default="[]", nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoke_reason", sa.String(length=200), server_default="", nullable=False),
        sa.Column("problem", sa.String(length=500), server_default="", nullable=False),
        sa.Column("lease_token", sa.String(length=32), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("promotion_id", "trigger_ref", name=op.f("pk_gift_packs")),
    )
    op.create_index(
        op.f("ix_gift_packs_status_trigger_member"), "gift_packs", ["status", "trigger_member"]
    )
    with op.batch_alter_table("gift_coupons") as batch:
        batch.add_column(
            sa.Column("state", sa.String(length=12), server_default="created", nullable=False)
        )
        batch.add_column(sa.Column("coupon_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("store_created_at", sa.DateTime(), nullable=True))
        for name, length in (("discount_type", 16), ("amount", 32), ("minimum_amount", 32)):
            batch.add_column(
                sa.Column(name, sa.String(length=length), server_default="", nullable=False)
            )
        for name in ("individual_use", "exclude_sale_items"):
            batch.add_column(
                sa.Column(name, sa.Boolean(), server_default=sa.false(), nullable=False)
            )
        batch.add_column(sa.Column("product_skus", sa.Text(), server_default="[]", nullable=False))
        batch.add_column(
            sa.Column("label", sa.String(length=200), server_default="", nullable=False)
        )
        for name in ("description", "error"):
            batch.add_column(
                sa.Column(name, sa.String(length=500), server_default="", nullable=False)
            )
        batch.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("revoked_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("usage_count", sa.BigInteger(), nullable=True))
    op.create_index(
        op.f("ix_gift_coupons_promotion_id_trigger_ref"),
        "gift_coupons",
        ["promotion_id", "trigger_ref"],
    )
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("sku", sa.String(length=100), server_default="", nullable=False))
    op.execute("UPDATE sync_state SET products_bookmark = NULL")  # read the SKUs next sync


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.drop_column("sku")
    op.drop_index(op.f("ix_gift_coupons_promotion_id_trigger_ref"), table_name="gift_coupons")
    with op.batch_alter_table("gift_coupons") as batch:
        for name in (
            "usage_count", "revoked_at", "updated_at", "error", "description", "label",
            "product_skus", "exclude_sale_items", "individual_use", "minimum_amount", "amount",
            "discount_type", "store_created_at", "coupon_id", "state",
        ):  # fmt: skip
            batch.drop_column(name)
    op.drop_index(op.f("ix_gift_packs_status_trigger_member"), table_name="gift_packs")
    op.drop_table("gift_packs")
