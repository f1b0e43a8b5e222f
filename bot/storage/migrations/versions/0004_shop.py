"""The shop: wallets, their ledger, the panel cost of each sale, markup and hiding overrides.

Money is BIGINT minor units of the shop currency. A wallet never goes below zero: the CHECK
constraints say so to every writer, not only to the bot's code.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KINDS = (
    "topup",
    "order_charge",
    "order_refund",
    "admin_credit",
    "admin_debit",
    "payment_refund",
    "referral_commission",
)


def upgrade() -> None:
    op.create_table(
        "wallets",
        sa.Column("user_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("balance", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.CheckConstraint("balance >= 0", name="wallet_never_below_zero"),
    )
    kinds = ", ".join(f"'{kind}'" for kind in KINDS)
    op.create_table(
        "ledger_entries",
        # INTEGER on SQLite: only that spelling is the rowid, counted up by itself.
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("wallets.user_id"), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False, unique=True),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.CheckConstraint(f"kind IN ({kinds})", name="ledger_kind_known"),
        sa.CheckConstraint("amount <> 0", name="ledger_amount_moves"),
        sa.CheckConstraint("balance_after >= 0", name="ledger_never_below_zero"),
    )
    op.create_index("ledger_by_wallet", "ledger_entries", ["user_id", "id"])
    op.create_index("ledger_by_reference", "ledger_entries", ["reference"])
    op.create_index("ledger_by_time", "ledger_entries", ["created_at"])
    op.create_table(
        "shop_sales",
        sa.Column(
            "order_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("orders.id"),
            primary_key=True,
            autoincrement=False,
        ),
        # The panel's price of the order in shop minor units, for the margin in /stats.
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.CheckConstraint("cost >= 0", name="sale_cost_not_negative"),
    )
    op.create_table(
        "shop_overrides",
        sa.Column("scope", sa.Text(), primary_key=True),
        sa.Column("target", sa.Text(), primary_key=True),
        sa.Column("markup", sa.Text(), nullable=True),  # a Decimal percentage; NULL: inherited
        sa.Column("hidden", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("updated_by", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        # 'default' (target ''): the markup of everything not overridden, instead of the setting.
        sa.CheckConstraint(
            "scope IN ('default', 'service', 'category')", name="override_scope_known"
        ),
    )


def downgrade() -> None:
    raise NotImplementedError("the bot's migrations go forward only")
