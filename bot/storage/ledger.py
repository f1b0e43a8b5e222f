"""Ledger entries and movements: what a wallet's history is made of (amounts in minor units).

Plain values, shared by the wallet repository and the shop's rules in bot.services.ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EntryKind(StrEnum):
    TOPUP = "topup"
    ORDER_CHARGE = "order_charge"
    ORDER_REFUND = "order_refund"
    ADMIN_CREDIT = "admin_credit"
    ADMIN_DEBIT = "admin_debit"
    PAYMENT_REFUND = "payment_refund"  # a top-up given back to the payer: leaves the wallet
    REFERRAL_COMMISSION = "referral_commission"


DEBITS = frozenset({EntryKind.ORDER_CHARGE, EntryKind.ADMIN_DEBIT, EntryKind.PAYMENT_REFUND})


@dataclass(frozen=True, slots=True)
class Movement:
    """What to post: `amount` > 0 in minor units; its sign comes from `kind`."""

    user_id: int
    kind: EntryKind
    amount: int
    key: str
    reference: str
    actor_id: int | None = None  # who made it: the person, an admin; None for the bot itself
    note: str = ""

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError("a movement moves a positive amount")

    @property
    def signed(self) -> int:
        return -self.amount if self.kind in DEBITS else self.amount


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    user_id: int
    kind: EntryKind
    amount: int  # signed: the wallet's balance is the sum of its entries
    balance_after: int
    key: str
    reference: str
    actor_id: int | None
    note: str
    created_at: float


@dataclass(frozen=True, slots=True)
class Posted:
    entry: Entry
    fresh: bool  # False: the key was posted before, and this is that entry


class InsufficientFunds(Exception):
    def __init__(self, balance: int, needed: int) -> None:
        super().__init__(f"balance {balance} < {needed}")
        self.balance = balance
        self.needed = needed

    @property
    def missing(self) -> int:
        return self.needed - self.balance


class KeyConflict(Exception):
    """An idempotency key was posted before with a different movement: a bug, never ignored."""


def same_movement(entry: Entry, movement: Movement) -> bool:
    return (
        entry.user_id == movement.user_id
        and entry.kind == movement.kind
        and entry.amount == movement.signed
        and entry.reference == movement.reference
    )
