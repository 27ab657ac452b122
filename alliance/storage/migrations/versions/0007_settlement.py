"""settlement: settlements, transfers and payments, swap balances, disputes, the audit log

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 22:00:00

Every table here is append-only: a trigger refuses UPDATE and DELETE of their rows, on SQLite
and on PostgreSQL, so a settlement, a payment, a dispute and an audit event stay as they were
recorded (a later change is a new row). ``TRUNCATE`` on PostgreSQL, which only an owner runs
by hand, is left alone.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

APPEND_ONLY = (
    "settlements", "transfers", "transfer_payments", "swap_balances", "disputes",
    "dispute_resolutions", "settlement_holds", "settlement_releases", "audit_log",
)  # fmt: skip
_PG_FUNCTION = """
CREATE FUNCTION alliance_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: its rows are never changed or removed', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql
"""


def _text(name: str, length: int) -> sa.Column:
    return sa.Column(name, sa.String(length=length), nullable=False)


def upgrade() -> None:
    op.create_table(
        "settlements",
        _text("period", 7),
        _text("currency", 8),
        sa.Column("settled_at", sa.DateTime(), nullable=False),
        sa.Column("as_of", sa.DateTime(), nullable=False),
        _text("settled_by", 200),
        _text("command", 500),
        sa.Column("forced", sa.Boolean(), nullable=False),
        _text("due_on", 10),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        _text("agreement_version", 32),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_settlements")),
    )
    op.create_table(
        "transfers",
        _text("id", 32),
        _text("period", 7),
        _text("payer", 64),
        _text("payee", 64),
        _text("unit", 8),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        _text("due_on", 10),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
    )
    op.create_index(op.f("ix_transfers_period"), "transfers", ["period"])
    op.create_table(
        "transfer_payments",
        _text("transfer_id", 32),
        sa.Column("paid_at", sa.DateTime(), nullable=False),
        _text("reference", 500),
        _text("recorded_by", 200),
        _text("command", 500),
        sa.PrimaryKeyConstraint("transfer_id", name=op.f("pk_transfer_payments")),
    )
    op.create_table(
        "swap_balances",
        _text("period", 7),
        _text("member_a", 64),
        _text("member_b", 64),
        sa.Column("brought_forward", sa.BigInteger(), nullable=False),
        sa.Column("change", sa.BigInteger(), nullable=False),
        sa.Column("carried_forward", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("period", "member_a", "member_b", name=op.f("pk_swap_balances")),
    )
    op.create_table(
        "disputes",
        _text("id", 16),
        _text("entry_id", 32),
        _text("source_ref", 140),
        _text("deal_id", 64),
        _text("payer", 64),
        _text("payee", 64),
        _text("unit", 8),
        _text("period", 7),
        _text("reason", 500),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        _text("opened_by", 200),
        _text("command", 500),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
    )
    op.create_table(
        "dispute_resolutions",
        _text("dispute_id", 16),
        _text("outcome", 12),
        _text("note", 500),
        sa.Column("resolved_at", sa.DateTime(), nullable=False),
        _text("resolved_by", 200),
        _text("command", 500),
        sa.PrimaryKeyConstraint("dispute_id", name=op.f("pk_dispute_resolutions")),
    )
    op.create_table(
        "settlement_holds",
        _text("period", 7),
        _text("entry_id", 32),
        _text("dispute_id", 16),
        sa.PrimaryKeyConstraint("period", "entry_id", name=op.f("pk_settlement_holds")),
    )
    op.create_table(
        "settlement_releases",
        _text("entry_id", 32),
        _text("period", 7),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_settlement_releases")),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(), nullable=False),
        _text("actor", 200),
        _text("command", 500),
        _text("action", 32),
        _text("subject", 140),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION alliance_append_only()"
            )
    else:
        for table in APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: its rows are never "
                    "changed or removed'); END"
                )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS alliance_append_only()")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_index(op.f("ix_transfers_period"), table_name="transfers")
    for table in reversed(APPEND_ONLY):
        op.drop_table(table)
