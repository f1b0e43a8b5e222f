"""The wallet ledger: every movement of a person's money is one entry, never an update in place.

An entry has a unique idempotency key (a replayed event posts nothing), a signed amount in minor
units, the balance after it, a reference (the order, payment or admin it concerns) and who made
it. A wallet never goes below zero. `LedgerPort` is the seam: the database repository
implements it for the bot, an in-memory model implements it for the property tests, and the
same rules below run on both.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.services.referrals import COMMISSION_SUFFIX
from bot.storage.ledger import Entry, EntryKind, Movement, Posted


class LedgerPort(Protocol):
    async def post(self, movement: Movement) -> Posted:
        """Post once per key; InsufficientFunds (nothing posted) if it would go below zero."""
        ...

    async def post_together(self, movements: Sequence[Movement]) -> list[Posted]:
        """Post each once per its key, in one transaction: all of them or none."""
        ...

    async def balance(self, user_id: int) -> int: ...

    async def history(self, user_id: int, limit: int) -> list[Entry]:
        """The wallet's newest entries first."""
        ...

    async def by_key(self, key: str) -> Entry | None: ...

    async def wallets(self) -> dict[int, int]:
        """Every wallet's stored balance."""
        ...

    async def all_entries(self) -> list[Entry]:
        """Every entry, oldest first."""
        ...


def order_reference(order_id: int) -> str:
    return f"order:{order_id}"


def charge_key(order_id: int) -> str:
    return f"order:{order_id}:charge"


def refund_key(order_id: int) -> str:
    # One key per order whatever the reason (refused, canceled, partial, settled as none):
    # an order is refunded at most once, by construction.
    return f"order:{order_id}:refund"


async def charge_order(ledger: LedgerPort, user_id: int, order_id: int, amount: int) -> Posted:
    """Take the order's price from the wallet (InsufficientFunds: nothing taken)."""
    return await ledger.post(
        Movement(
            user_id=user_id,
            kind=EntryKind.ORDER_CHARGE,
            amount=amount,
            key=charge_key(order_id),
            reference=order_reference(order_id),
            actor_id=user_id,
        )
    )


async def refund_order(ledger: LedgerPort, order_id: int, amount: int) -> Posted | None:
    """Give back `amount` of the order's charge (at most the charge), once per order.

    None when nothing is refunded: no charge (an order from before the shop), or a zero amount.
    A second call returns the first refund, not fresh.
    """
    charge = await ledger.by_key(charge_key(order_id))
    if charge is None:
        return None
    amount = min(amount, -charge.amount)
    if amount <= 0:
        return None
    return await ledger.post(
        Movement(
            user_id=charge.user_id,
            kind=EntryKind.ORDER_REFUND,
            amount=amount,
            key=refund_key(order_id),
            reference=order_reference(order_id),
        )
    )


async def refund_in_full(ledger: LedgerPort, order_id: int) -> Posted | None:
    charge = await ledger.by_key(charge_key(order_id))
    return None if charge is None else await refund_order(ledger, order_id, -charge.amount)


class OrderRefunds:
    """What an order took from a wallet and what went back (notifications tell them)."""

    def __init__(self, ledger: LedgerPort) -> None:
        self._ledger = ledger

    async def refund_of(self, order_id: int) -> Entry | None:
        return await self._ledger.by_key(refund_key(order_id))

    async def charge_of(self, order_id: int) -> Entry | None:
        """What the order took from the wallet (None: an order from before the shop)."""
        return await self._ledger.by_key(charge_key(order_id))


@dataclass(frozen=True, slots=True)
class Discrepancy:
    user_id: int | None
    reference: str
    problem: str

    def __str__(self) -> str:
        who = f"wallet {self.user_id}" if self.user_id is not None else "ledger"
        return f"{who} {self.reference}: {self.problem}"


def audit(balances: Mapping[int, int], entries: Iterable[Entry]) -> list[Discrepancy]:
    """Every way the ledger can disagree with itself (empty: it is sound).

    A wallet's entries sum to its balance, each entry's balance_after follows from the one
    before, nothing is below zero, an order charge has at most one refund, no larger, and a
    referral commission is a share of a top-up credited (its key the credit's, extended).
    """
    found: list[Discrepancy] = []
    sums: dict[int, int] = defaultdict(int)
    last_after: dict[int, int] = defaultdict(int)
    charges: dict[str, int] = {}
    refunds: dict[str, list[int]] = defaultdict(list)
    topups: set[str] = set()
    commissions: list[Entry] = []
    for entry in entries:
        sums[entry.user_id] += entry.amount
        ref = f"entry {entry.id}"
        expected = last_after[entry.user_id] + entry.amount
        if entry.balance_after != expected:
            found.append(
                Discrepancy(
                    entry.user_id,
                    ref,
                    f"balance after is {entry.balance_after}, the entry before it says {expected}",
                )
            )
        last_after[entry.user_id] = entry.balance_after
        if entry.balance_after < 0:
            found.append(Discrepancy(entry.user_id, ref, "balance below zero"))
        if entry.kind is EntryKind.ORDER_CHARGE:
            charges[entry.reference] = -entry.amount
        elif entry.kind is EntryKind.ORDER_REFUND:
            refunds[entry.reference].append(entry.amount)
        elif entry.kind is EntryKind.TOPUP:
            topups.add(entry.key)
        elif entry.kind is EntryKind.REFERRAL_COMMISSION:
            commissions.append(entry)
    for share in commissions:
        if share.key.removesuffix(COMMISSION_SUFFIX) not in topups or share.amount <= 0:
            found.append(
                Discrepancy(share.user_id, f"entry {share.id}", "commission for no top-up")
            )
    for reference, amounts in refunds.items():
        if len(amounts) > 1:
            found.append(Discrepancy(None, reference, f"refunded {len(amounts)} times"))
        if reference not in charges:
            found.append(Discrepancy(None, reference, "refund without a charge"))
        elif sum(amounts) > charges[reference]:
            problem = f"refunded {sum(amounts)}, more than the charge {charges[reference]}"
            found.append(Discrepancy(None, reference, problem))
    for user_id in sorted(set(balances) | set(sums)):
        stored, summed = balances.get(user_id, 0), sums.get(user_id, 0)
        if stored != summed:
            found.append(
                Discrepancy(user_id, "balance", f"stored {stored}, entries sum to {summed}")
            )
    return found


async def check(ledger: LedgerPort) -> list[Discrepancy]:
    """`python -m bot ledger-check`: the audit of the whole ledger as stored."""
    return audit(await ledger.wallets(), await ledger.all_entries())
