"""The ledger's audit (what `python -m bot ledger-check` reports) finds each kind of damage."""

from __future__ import annotations

import pytest

from bot.services.ledger import (
    audit,
    charge_order,
    check,
    refund_in_full,
    refund_order,
)
from bot.storage.ledger import Entry, EntryKind, InsufficientFunds, KeyConflict, Movement
from tests.shop.memory_ledger import MemoryLedger, MemoryStore


def entry(id_: int, user: int, kind: EntryKind, amount: int, after: int, ref: str) -> Entry:
    return Entry(id_, user, kind, amount, after, f"k{id_}", ref, None, "", 0.0)


SOUND = [
    entry(1, 1, EntryKind.TOPUP, 1000, 1000, "payment:1"),
    entry(2, 1, EntryKind.ORDER_CHARGE, -300, 700, "order:5"),
    entry(3, 1, EntryKind.ORDER_REFUND, 300, 1000, "order:5"),
]


def test_a_sound_ledger_has_no_discrepancy() -> None:
    assert audit({1: 1000}, SOUND) == []
    assert audit({}, []) == []


def test_a_commission_is_sound_only_beside_its_top_up() -> None:
    topup = Entry(4, 2, EntryKind.TOPUP, 500, 500, "topup:stars:c1", "topup:1", None, "", 0.0)
    share = Entry(
        5,
        1,
        EntryKind.REFERRAL_COMMISSION,
        50,
        1050,
        "topup:stars:c1:commission",
        "topup:1",
        None,
        "",
        0.0,
    )
    assert audit({1: 1050, 2: 500}, [*SOUND, topup, share]) == []
    stray = [str(d) for d in audit({1: 1050}, [*SOUND, share])]
    assert stray == ["wallet 1 entry 5: commission for no top-up"]


def test_a_balance_that_is_not_the_sum_of_its_entries() -> None:
    found = audit({1: 1100}, SOUND)
    assert [str(d) for d in found] == ["wallet 1 balance: stored 1100, entries sum to 1000"]


def test_a_wallet_without_entries_but_money() -> None:
    assert [d.user_id for d in audit({1: 1000, 2: 5}, SOUND)] == [2]


def test_a_double_refund_and_a_refund_above_the_charge() -> None:
    twice = [*SOUND, entry(4, 1, EntryKind.ORDER_REFUND, 300, 1300, "order:5")]
    problems = [d.problem for d in audit({1: 1300}, twice)]
    assert problems == ["refunded 2 times", "refunded 600, more than the charge 300"]


def test_a_refund_without_a_charge() -> None:
    orphan = [*SOUND, entry(4, 1, EntryKind.ORDER_REFUND, 10, 1010, "order:6")]
    assert [d.problem for d in audit({1: 1010}, orphan)] == ["refund without a charge"]


def test_a_broken_balance_after_chain_is_reported_once() -> None:
    broken = [
        entry(1, 1, EntryKind.TOPUP, 1000, 1000, "payment:1"),
        entry(2, 1, EntryKind.ADMIN_DEBIT, -100, 800, "admin:9"),
        entry(3, 1, EntryKind.ADMIN_DEBIT, -100, 700, "admin:9"),
    ]
    found = audit({1: 800}, broken)
    assert [d.reference for d in found] == ["entry 2"]


async def test_posting_rules() -> None:
    ledger = MemoryLedger(MemoryStore())
    with pytest.raises(InsufficientFunds) as short:
        await charge_order(ledger, 1, 5, 300)
    assert short.value.missing == 300
    top = Movement(1, EntryKind.TOPUP, 500, "topup:a", "payment:a", 1)
    assert (await ledger.post(top)).fresh
    assert not (await ledger.post(top)).fresh
    with pytest.raises(KeyConflict):
        await ledger.post(Movement(1, EntryKind.TOPUP, 501, "topup:a", "payment:a", 1))
    with pytest.raises(ValueError):
        Movement(1, EntryKind.TOPUP, 0, "topup:b", "payment:b", 1)
    await charge_order(ledger, 1, 5, 300)
    # Never more than the charge, and once.
    refund = await refund_order(ledger, 5, 10_000)
    assert refund is not None and refund.entry.amount == 300
    assert await refund_in_full(ledger, 5) == refund.__class__(refund.entry, fresh=False)
    assert await refund_order(ledger, 6, 100) is None  # never charged
    assert await ledger.balance(1) == 500


async def test_the_check_audits_what_the_ledger_holds() -> None:
    store = MemoryStore()
    ledger = MemoryLedger(store)
    await ledger.post(Movement(1, EntryKind.TOPUP, 500, "topup:a", "payment:a", 1))
    assert await check(ledger) == []
    store.balances[1] = 499
    assert [d.problem for d in await check(ledger)] == ["stored 499, entries sum to 500"]
