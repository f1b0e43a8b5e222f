"""Shop orders on the real database: the wallet moves in the transaction that records the order.

SQLite always; PostgreSQL too when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from bot.services.ledger import audit, charge_key, refund_key
from bot.services.shop_orders import ShopOrders
from bot.services.shop_pricing import Charge
from bot.storage import Database, IntegrityViolation, OrderRow, StatusUpdate
from bot.storage.ledger import EntryKind, InsufficientFunds, Movement
from bot.storage.wallets import WalletRepository

ALICE = 10


def fields(token: str, **overrides: Any) -> dict[str, Any]:
    return {
        "intent_token": token,
        "owner_id": ALICE,
        "account": "shared",
        "service_id": 5,
        "service_name": "Followers",
        "service_type": "Default",
        "rate": Decimal("1.3"),
        "link": "https://example.com/p",
        "quantity": 1000,
        "extra": {},
        "price": None,
        "currency": None,
        "refillable": False,
        "cancelable": True,
    } | overrides


CHARGE = Charge(price=Decimal("3.00"), currency="USD", amount=300, cost=231)


@pytest.fixture
def shop(db: Database) -> ShopOrders:
    return ShopOrders(db)


@pytest.fixture
def wallets(db: Database) -> WalletRepository:
    return WalletRepository(db)


async def top_up(wallets: WalletRepository, amount: int, key: str = "topup:1") -> None:
    await wallets.post(Movement(ALICE, EntryKind.TOPUP, amount, key, f"payment:{key}", ALICE))


async def sound(wallets: WalletRepository) -> None:
    assert audit(await wallets.wallets(), await wallets.all_entries()) == []


async def placed(shop: ShopOrders, token: str, panel_id: int, **kw: Any) -> OrderRow:
    order = await shop.create_charged_intent(CHARGE, **fields(token, **kw))
    assert order is not None
    assert await shop.mark_placed(order.id, panel_id, first_poll_at=0.0, poll_interval=60.0)
    return order


def final(order: OrderRow, status: str, remains: int | None) -> StatusUpdate:
    return StatusUpdate(order.id, status, remains, 0, None, None, True, None, None)


async def test_the_intent_and_its_charge_are_written_together(
    shop: ShopOrders, wallets: WalletRepository
) -> None:
    await top_up(wallets, 500)
    order = await shop.create_charged_intent(CHARGE, **fields("t1"))
    assert order is not None
    assert order.price == Decimal("3.00") and order.currency == "USD"
    assert await wallets.balance(ALICE) == 200
    entry = await wallets.by_key(charge_key(order.id))
    assert entry is not None and entry.amount == -300 and entry.balance_after == 200
    # The same Confirm again: no second order, no second charge.
    assert await shop.create_charged_intent(CHARGE, **fields("t1")) is None
    assert await wallets.balance(ALICE) == 200
    await sound(wallets)


async def test_not_enough_in_the_wallet_writes_nothing(
    shop: ShopOrders, wallets: WalletRepository
) -> None:
    await top_up(wallets, 299)
    with pytest.raises(InsufficientFunds) as short:
        await shop.create_charged_intent(CHARGE, **fields("t1"))
    assert short.value.missing == 1
    assert await shop.get_by_intent("t1") is None
    assert await wallets.balance(ALICE) == 299
    assert len(await wallets.all_entries()) == 1


async def test_double_confirm_at_the_same_moment_charges_once(
    shop: ShopOrders, wallets: WalletRepository
) -> None:
    await top_up(wallets, 1000)
    results = await asyncio.gather(
        *(shop.create_charged_intent(CHARGE, **fields("same")) for _ in range(4)),
        return_exceptions=True,
    )
    assert [r for r in results if isinstance(r, OrderRow)].__len__() == 1
    assert all(r is None or isinstance(r, OrderRow | IntegrityViolation) for r in results)
    assert await wallets.balance(ALICE) == 700
    await sound(wallets)


async def test_a_failed_order_is_refunded_in_full_once(
    shop: ShopOrders, wallets: WalletRepository
) -> None:
    await top_up(wallets, 300)
    order = await shop.create_charged_intent(CHARGE, **fields("t1"))
    assert order is not None
    assert await shop.mark_failed(order.id, "refused")
    assert not await shop.mark_failed(order.id, "refused")
    assert await wallets.balance(ALICE) == 300
    refund = await wallets.by_key(refund_key(order.id))
    assert refund is not None and refund.amount == 300
    await sound(wallets)


async def test_unknown_settled_as_none_refunds_and_as_found_keeps(
    shop: ShopOrders, wallets: WalletRepository
) -> None:
    await top_up(wallets, 600)
    lost = await shop.create_charged_intent(CHARGE, **fields("lost"))
    kept = await shop.create_charged_intent(CHARGE, **fields("kept"))
    assert lost is not None and kept is not None
    for order in (lost, kept):
        assert await shop.mark_unknown(order.id, "timeout")
    assert await shop.mark_not_placed(lost.id, "checked")
    assert await shop.mark_placed(kept.id, 77, first_poll_at=0.0, poll_interval=60.0)
    assert not await shop.mark_not_placed(lost.id, "checked")
    assert await wallets.balance(ALICE) == 300
    await sound(wallets)


@pytest.mark.parametrize(
    ("status", "remains", "quantity", "extra", "refunded"),
    [
        ("Canceled", 1000, 1000, {}, 300),
        ("Refunded", 0, 1000, {}, 300),
        ("Partial", 500, 1000, {}, 150),
        ("Partial", 333, 1000, {}, 99),  # 99.9 down
        ("Partial", 2000, 1000, {}, 300),  # clamped
        ("Partial", 250, 100, {"runs": 5}, 150),  # drip-feed: 500 ordered in all
        ("Completed", 0, 1000, {}, 0),
    ],
)
async def test_final_statuses_refund_once_in_the_status_transaction(
    shop: ShopOrders,
    wallets: WalletRepository,
    db: Database,
    status: str,
    remains: int,
    quantity: int,
    extra: dict[str, Any],
    refunded: int,
) -> None:
    await top_up(wallets, 300)
    order = await placed(shop, "t1", 1, quantity=quantity, extra=extra)
    assert await shop.apply_statuses([final(order, status, remains)]) == [order.id]
    assert await wallets.balance(ALICE) == refunded
    # The same status seen again, and after a restart: nothing more.
    assert await shop.apply_statuses([final(order, status, remains)]) == []
    again = ShopOrders(db)
    assert await again.apply_statuses([final(order, status, 0)]) == []
    assert await wallets.balance(ALICE) == refunded
    await sound(wallets)


async def test_the_database_refuses_a_wallet_below_zero(
    db: Database, wallets: WalletRepository
) -> None:
    await top_up(wallets, 5)
    with pytest.raises(IntegrityViolation):
        async with db.transaction() as tx:
            await tx.execute("UPDATE wallets SET balance = -1 WHERE user_id = :u", {"u": ALICE})
    with pytest.raises(IntegrityViolation):
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO ledger_entries (user_id, kind, amount, balance_after, "
                "idempotency_key, reference, note, created_at) "
                "VALUES (:u, 'admin_debit', -10, -5, 'k', 'r', '', 0)",
                {"u": ALICE},
            )
    assert await wallets.balance(ALICE) == 5


async def test_two_debits_racing_for_the_last_cent(db: Database, wallets: WalletRepository) -> None:
    await top_up(wallets, 100)
    results = await asyncio.gather(
        *(
            wallets.post(Movement(ALICE, EntryKind.ADMIN_DEBIT, 100, f"d{i}", "admin:1", 1))
            for i in range(3)
        ),
        return_exceptions=True,
    )
    assert sum(1 for r in results if isinstance(r, InsufficientFunds)) == 2
    assert await wallets.balance(ALICE) == 0
    await sound(wallets)


async def test_one_payment_posted_twice_at_the_same_moment_is_credited_once_and_fails_neither(
    wallets: WalletRepository,
) -> None:
    # Crypto Pay's webhook and the person's "I have paid" (or the worker's poll) credit one
    # invoice at once; a failure here told someone who had just paid "something went wrong".
    await top_up(wallets, 5)
    for n in range(10):
        paid = Movement(ALICE, EntryKind.TOPUP, 100, f"topup:cryptopay:{n}", f"topup:{n}", None)
        first, second = await asyncio.gather(wallets.post(paid), wallets.post(paid))
        assert sorted([first.fresh, second.fresh]) == [False, True]
        assert first.entry.id == second.entry.id
    assert await wallets.balance(ALICE) == 1005
    await sound(wallets)
