"""The banned people, found by an index of them alone: every instance re-reads the ban list
every few seconds (bot.services.people), and without it each read was a scan of everyone the
console has met.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Partial: a handful of banned people among many, on SQLite and PostgreSQL alike.
    op.execute(
        "CREATE INDEX console_people_banned ON console_people (telegram_id) WHERE banned = 1"
    )


def downgrade() -> None:
    raise NotImplementedError("the bot's migrations go forward only")
