"""impression flushes: when each impressions row was last added to

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 00:40:00

``alliance exchange`` says when cards were last added to the database, so a block shown a
moment ago is known to be missing rather than guessed at.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("impressions") as batch:
        batch.add_column(sa.Column("flushed_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("impressions") as batch:
        batch.drop_column("flushed_at")
