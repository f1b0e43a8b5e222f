"""Baseline: the schema of PRAGMA user_version 2, the last before Alembic.

Revision ID: 0001
Revises:
"""

from alembic import op

from bot.storage.migrations.baseline import POSTGRES, SQLITE_V1, SQLITE_V2

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    statements = (*SQLITE_V1, *SQLITE_V2) if op.get_context().dialect.name == "sqlite" else POSTGRES
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("the bot's migrations go forward only")
