"""Referrals: each person's opaque referral code (made when first asked for, unique) and who
brought them (set once, at their first contact with the bot).

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = "INTEGER" if op.get_context().dialect.name == "sqlite" else "BIGINT"
    # Plain ALTERs: SQLite adds a nullable column with a REFERENCES clause in place.
    op.execute("ALTER TABLE users ADD COLUMN referral_code TEXT")
    op.execute(f"ALTER TABLE users ADD COLUMN referred_by {big} REFERENCES users (telegram_id)")
    # Many people have no code yet: NULLs do not collide in a unique index on either database.
    op.execute("CREATE UNIQUE INDEX users_referral_code ON users (referral_code)")
    op.execute("CREATE INDEX users_referred_by ON users (referred_by)")


def downgrade() -> None:
    raise NotImplementedError("the bot's migrations go forward only")
