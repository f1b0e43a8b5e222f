"""The top-up repository on SQLite and PostgreSQL: the transitions the rules rely on, each a
single compare-and-set, and one top-up per provider charge."""

from __future__ import annotations

import asyncio

import pytest

from bot.storage import Database, IntegrityViolation
from bot.storage.topups import Provider, TopupRepository, TopupStatus

S = TopupStatus
ALICE = 101


@pytest.fixture
def topups(db: Database) -> TopupRepository:
    return TopupRepository(db)


async def test_create_and_read_back(topups: TopupRepository) -> None:
    made = await topups.create(ALICE, Provider.STARS, 1000, 500, None)
    assert (made.user_id, made.amount, made.stars, made.status) == (ALICE, 1000, 500, S.PENDING)
    assert made.charge_id is None and made.refund_attempts == 0
    assert await topups.get(made.id) == made
    assert await topups.get(made.id + 1) is None
    assert made.payload == str(made.id)


async def test_paid_once_and_found_by_its_charge(topups: TopupRepository) -> None:
    made = await topups.create(ALICE, Provider.STARS, 1000, 500, None)
    assert await topups.settle(made.id, S.PAID, "charge-1")
    assert not await topups.settle(made.id, S.PAID, "charge-2")
    paid = await topups.by_charge(Provider.STARS, "charge-1")
    assert paid is not None and paid.id == made.id and paid.status is S.PAID
    assert await topups.by_charge(Provider.STARS, "charge-2") is None
    assert await topups.by_charge(Provider.CRYPTOPAY, "charge-1") is None


async def test_a_charge_belongs_to_one_top_up(topups: TopupRepository) -> None:
    first = await topups.create(ALICE, Provider.STARS, 1000, 500, None)
    second = await topups.create(ALICE, Provider.STARS, 1000, 500, None)
    assert await topups.settle(first.id, S.PAID, "charge-1")
    with pytest.raises(IntegrityViolation):
        await topups.settle(second.id, S.PAID, "charge-1")


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ([S.EXPIRED], True),
        ([S.EXPIRED, S.PAID], True),  # money that came at the last moment
        ([S.PAID, S.EXPIRED], False),
        ([S.REFUNDED], False),
        ([S.PAID, S.REFUNDED], True),
        ([S.PENDING], False),
    ],
)
async def test_transitions(topups: TopupRepository, path: list[TopupStatus], allowed: bool) -> None:
    made = await topups.create(ALICE, Provider.CRYPTOPAY, 500, None, 10.0)
    results = [await topups.settle(made.id, status, None) for status in path]
    assert all(results[:-1]) and results[-1] is allowed


async def test_refund_attempts_are_counted_and_exclusive(topups: TopupRepository) -> None:
    made = await topups.create(ALICE, Provider.STARS, 1000, 500, None)
    assert await topups.start_refund(made.id) is None  # not paid
    await topups.settle(made.id, S.PAID, "charge-1")
    assert await topups.start_refund(made.id) == 1
    assert await topups.start_refund(made.id) is None  # one refund at a time
    assert await topups.settle(made.id, S.PAID, None)  # Telegram refused: paid again
    assert await topups.start_refund(made.id) == 2
    assert await topups.settle(made.id, S.REFUNDED, None)
    assert await topups.start_refund(made.id) is None


async def test_of_two_concurrent_settlers_one_wins(topups: TopupRepository) -> None:
    made = await topups.create(ALICE, Provider.CRYPTOPAY, 500, None, 10.0)
    await topups.attach_invoice(made.id, "1001", "https://t.me/CryptoBot?start=IV1")
    won = await asyncio.gather(*(topups.settle(made.id, S.PAID, None) for _ in range(5)))
    assert sum(won) == 1


async def test_open_invoices_are_pending_crypto_top_ups_with_an_invoice(
    topups: TopupRepository,
) -> None:
    stars = await topups.create(ALICE, Provider.STARS, 1000, 500, None)
    no_invoice = await topups.create(ALICE, Provider.CRYPTOPAY, 500, None, 10.0)
    open_ = await topups.create(ALICE, Provider.CRYPTOPAY, 500, None, 10.0)
    paid = await topups.create(ALICE, Provider.CRYPTOPAY, 700, None, 10.0)
    await topups.attach_invoice(open_.id, "1001", "https://pay/1")
    await topups.attach_invoice(paid.id, "1002", "https://pay/2")
    await topups.attach_invoice(paid.id, "9999", "https://pay/other")  # the first one stays
    await topups.settle(paid.id, S.PAID, None)
    assert [t.id for t in await topups.open_invoices()] == [open_.id]
    [listed] = await topups.open_invoices()
    assert (listed.charge_id, listed.invoice_url) == ("1001", "https://pay/1")
    assert (await topups.get(paid.id)).charge_id == "1002"  # type: ignore[union-attr]
    assert stars.id and no_invoice.id
