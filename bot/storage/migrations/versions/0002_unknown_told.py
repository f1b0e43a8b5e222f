"""Orders of unknown outcome: when the owner and when the admins were told.

At start, every unknown order someone was not told about is told (and told once: the
columns are set by compare-and-set). Rows from before stay NULL: told again once, never missed.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("owner_told_at", sa.Float(), nullable=True))
    op.add_column("orders", sa.Column("admins_told_at", sa.Float(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("the bot's migrations go forward only")
