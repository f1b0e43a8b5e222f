"""The top-up rules (bot.services.topups) on the real top-up records and shop wallet (SQLite and
PostgreSQL) and the Crypto Pay simulator over HTTP:
each payment credited once, refunds only from money still in the wallet."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.payments.cryptopay import CryptoPayClient
from bot.sandbox.cryptopay import CryptoPaySimulator
from bot.services.ledger import charge_order
from bot.services.topups import (
    CheckoutRefusal,
    Credited,
    RefundOutcome,
    RefundRefused,
    TopupService,
    TopupStatus,
    TopupUnavailable,
    stars_price,
)
from bot.storage import Database
from bot.storage.topups import TopupRepository
from tests.topups.conftest import AuditedWallet

ALICE, BOB = 101, 102


class Refunds:
    """Stands in for Telegram's refundStarPayment answer (the handler's call in the bot)."""

    def __init__(self) -> None:
        self.asked: list[tuple[int, str]] = []
        self.answer: Exception | None = None

    async def __call__(self, user_id: int, charge_id: str) -> None:
        self.asked.append((user_id, charge_id))
        if self.answer is not None:
            raise self.answer


@pytest.fixture
def store(db: Database) -> TopupRepository:
    return TopupRepository(db)


@pytest.fixture
def paid() -> list[Credited]:
    return []


@pytest.fixture
def service(
    store: TopupRepository, wallet: AuditedWallet, client: CryptoPayClient, paid: list[Credited]
) -> TopupService:
    async def on_paid(credited: Credited) -> None:
        paid.append(credited)

    return TopupService(
        store,
        wallet,
        currency="USD",
        digits=2,
        stars_per_unit=Decimal(50),
        cryptopay=client,
        cryptopay_assets=["USDT", "TON"],
        invoice_seconds=600,
        on_paid=on_paid,
    )


def test_stars_price_is_whole_and_rounded_up() -> None:
    assert stars_price(1000, 2, Decimal(50)) == 500
    assert stars_price(1, 2, Decimal(50)) == 1
    assert stars_price(101, 2, Decimal("0.5")) == 1
    assert stars_price(1000, 0, Decimal("0.33")) == 330


async def test_stars_paid_once_whatever_the_replays(
    service: TopupService, wallet: AuditedWallet, paid: list[Credited]
) -> None:
    topup = await service.start_stars(ALICE, 1000)
    assert topup.stars == 500 and topup.status is TopupStatus.PENDING
    assert await service.pre_checkout(ALICE, topup.payload, "XTR", 500) is None
    first = await service.stars_paid(ALICE, topup.payload, "charge-1", "XTR", 500)
    again = await service.stars_paid(ALICE, topup.payload, "charge-1", "XTR", 500)
    assert first is not None and first.fresh and first.balance == 1000
    assert again is not None and not again.fresh and again.balance == 1000
    assert await wallet.balances() == {ALICE: 1000} and len(paid) == 1
    assert first.topup.status is TopupStatus.PAID and first.topup.charge_id == "charge-1"


@pytest.mark.parametrize(
    ("payer", "payload", "currency", "total", "refusal"),
    [
        (ALICE, "999", "XTR", 500, CheckoutRefusal.UNKNOWN),
        (ALICE, "not-a-number", "XTR", 500, CheckoutRefusal.UNKNOWN),
        (ALICE, "1" * 40, "XTR", 500, CheckoutRefusal.UNKNOWN),
        (BOB, None, "XTR", 500, CheckoutRefusal.NOT_YOURS),
        (ALICE, None, "XTR", 499, CheckoutRefusal.MISMATCH),
        (ALICE, None, "USD", 500, CheckoutRefusal.MISMATCH),
    ],
)
async def test_pre_checkout_refusals(
    service: TopupService,
    payer: int,
    payload: str | None,
    currency: str,
    total: int,
    refusal: CheckoutRefusal,
) -> None:
    topup = await service.start_stars(ALICE, 1000)
    given = topup.payload if payload is None else payload
    assert await service.pre_checkout(payer, given, currency, total) is refusal


async def test_pre_checkout_of_a_paid_top_up_is_refused(service: TopupService) -> None:
    topup = await service.start_stars(ALICE, 1000)
    await service.stars_paid(ALICE, topup.payload, "charge-1", "XTR", 500)
    assert await service.pre_checkout(ALICE, topup.payload, "XTR", 500) is CheckoutRefusal.PAID


async def test_a_payment_for_no_top_up_credits_nothing(
    service: TopupService, wallet: AuditedWallet
) -> None:
    assert await service.stars_paid(ALICE, "77", "charge-x", "XTR", 500) is None
    topup = await service.start_stars(ALICE, 1000)
    assert await service.stars_paid(ALICE, topup.payload, "charge-y", "XTR", 5) is None
    assert await wallet.balances() == {}


async def test_a_payment_by_someone_else_for_a_persons_top_up_credits_no_one(
    service: TopupService, wallet: AuditedWallet
) -> None:
    # Bob paid Alice's (forwarded) invoice: crediting Alice with Bob's Stars is money to the
    # wrong person. The pre-checkout refuses it; should one get through, nobody is credited
    # and the admins refund Bob by hand (logged).
    topup = await service.start_stars(ALICE, 1000)
    assert await service.stars_paid(BOB, topup.payload, "charge-b", "XTR", 500) is None
    assert await wallet.balances() == {}
    credited = await service.stars_paid(ALICE, topup.payload, "charge-a", "XTR", 500)
    assert credited is not None and await wallet.balances() == {ALICE: 1000}


async def test_refund_while_the_money_is_in_the_wallet(
    service: TopupService, store: TopupRepository, wallet: AuditedWallet
) -> None:
    topup = await service.start_stars(ALICE, 1000)
    await service.stars_paid(ALICE, topup.payload, "charge-1", "XTR", 500)
    refunds = Refunds()
    done = await service.refund_stars("charge-1", refunds)
    assert done.outcome is RefundOutcome.REFUNDED and done.balance == 0
    assert refunds.asked == [(ALICE, "charge-1")]
    assert (await store.get(topup.id)).status is TopupStatus.REFUNDED  # type: ignore[union-attr]
    again = await service.refund_stars("charge-1", refunds)
    assert again.outcome is RefundOutcome.NOT_PAID and len(refunds.asked) == 1
    # Telegram's refunded_payment update afterwards: recorded, never credited.
    await service.stars_refunded("charge-1")
    assert await wallet.balances() == {ALICE: 0}


async def test_no_refund_once_the_money_is_spent(
    service: TopupService, store: TopupRepository, wallet: AuditedWallet
) -> None:
    topup = await service.start_stars(ALICE, 1000)
    await service.stars_paid(ALICE, topup.payload, "charge-1", "XTR", 500)
    await charge_order(wallet.ledger, ALICE, 1, 1)
    refunds = Refunds()
    spent = await service.refund_stars("charge-1", refunds)
    assert spent.outcome is RefundOutcome.SPENT and spent.balance == 999
    assert refunds.asked == [] and await wallet.balances() == {ALICE: 999}
    assert (await store.get(topup.id)).status is TopupStatus.PAID  # type: ignore[union-attr]


async def test_a_refused_refund_gives_the_debit_back_and_may_be_tried_again(
    service: TopupService, wallet: AuditedWallet
) -> None:
    topup = await service.start_stars(ALICE, 1000)
    await service.stars_paid(ALICE, topup.payload, "charge-1", "XTR", 500)
    refunds = Refunds()
    refunds.answer = RefundRefused("CHARGE_ALREADY_REFUNDED")
    refused = await service.refund_stars("charge-1", refunds)
    assert refused.outcome is RefundOutcome.REFUSED and refused.balance == 1000
    refunds.answer = None
    done = await service.refund_stars("charge-1", refunds)
    assert done.outcome is RefundOutcome.REFUNDED and await wallet.balances() == {ALICE: 0}
    assert len(refunds.asked) == 2


async def test_a_refund_of_unknown_outcome_keeps_the_debit_and_is_not_resent(
    service: TopupService, store: TopupRepository, wallet: AuditedWallet
) -> None:
    topup = await service.start_stars(ALICE, 1000)
    await service.stars_paid(ALICE, topup.payload, "charge-1", "XTR", 500)
    refunds = Refunds()
    refunds.answer = TimeoutError()
    lost = await service.refund_stars("charge-1", refunds)
    assert lost.outcome is RefundOutcome.UNCERTAIN and await wallet.balances() == {ALICE: 0}
    assert (await service.refund_stars("charge-1", refunds)).outcome is RefundOutcome.NOT_PAID
    assert len(refunds.asked) == 1
    # Our own refund's debit stands: nothing more is taken.
    assert await service.stars_refunded("charge-1") is None
    assert (await store.get(topup.id)).status is TopupStatus.REFUNDED  # type: ignore[union-attr]
    assert await wallet.balances() == {ALICE: 0}


async def test_refund_of_an_unknown_charge(service: TopupService) -> None:
    refunds = Refunds()
    assert (await service.refund_stars("nope", refunds)).outcome is RefundOutcome.UNKNOWN_CHARGE
    assert refunds.asked == []


async def test_crypto_invoice_paid_found_by_the_poll_once(
    service: TopupService, cryptopay: CryptoPaySimulator, wallet: AuditedWallet
) -> None:
    topup = await service.start_cryptopay(ALICE, 2500, "Wallet top-up")
    assert topup.invoice_url and topup.charge_id
    invoice = cryptopay.by_payload(topup.payload)
    assert (invoice.fiat, invoice.amount, invoice.accepted_assets) == (
        "USD",
        Decimal("25.00"),
        ["USDT", "TON"],
    )
    await service.poll_invoices()
    assert await wallet.balances() == {}
    await cryptopay.pay(invoice.invoice_id, "TON")
    await service.poll_invoices()
    await service.poll_invoices()
    assert await wallet.balances() == {ALICE: 2500}


async def test_webhook_and_poll_of_one_invoice_credit_once(
    service: TopupService,
    cryptopay: CryptoPaySimulator,
    client: CryptoPayClient,
    wallet: AuditedWallet,
    paid: list[Credited],
) -> None:
    topup = await service.start_cryptopay(ALICE, 500, "Wallet top-up")
    invoice_id = int(topup.charge_id or 0)
    await cryptopay.pay(invoice_id)
    [invoice] = await client.get_invoices([invoice_id])
    first = await service.invoice_paid(invoice)
    await service.invoice_paid(invoice)
    await service.poll_invoices()
    assert first is not None and first.fresh and first.balance == 500
    assert await wallet.balances() == {ALICE: 500} and len(paid) == 1


async def test_an_expired_invoice_is_marked_and_no_longer_usable(
    service: TopupService, cryptopay: CryptoPaySimulator, store: TopupRepository
) -> None:
    topup = await service.start_cryptopay(ALICE, 500, "Wallet top-up")
    assert await service.usable(topup.id, ALICE) is not None
    assert await service.usable(topup.id, BOB) is None
    cryptopay.expire(int(topup.charge_id or 0))
    await service.poll_invoices()
    assert (await store.get(topup.id)).status is TopupStatus.EXPIRED  # type: ignore[union-attr]
    assert await service.usable(topup.id, ALICE) is None


async def test_no_invoice_when_crypto_pay_is_down(
    service: TopupService, cryptopay: CryptoPaySimulator, store: TopupRepository
) -> None:
    cryptopay.fail_next()
    with pytest.raises(TopupUnavailable):
        await service.start_cryptopay(ALICE, 500, "Wallet top-up")
    topup = await store.get(1)
    assert topup is not None
    assert topup.status is TopupStatus.EXPIRED and topup.charge_id is None


async def test_a_poll_during_an_outage_changes_nothing(
    service: TopupService, cryptopay: CryptoPaySimulator, wallet: AuditedWallet
) -> None:
    topup = await service.start_cryptopay(ALICE, 500, "Wallet top-up")
    await cryptopay.pay(int(topup.charge_id or 0))
    cryptopay.fail_next()
    await service.poll_invoices()
    assert await wallet.balances() == {}
    await service.poll_invoices()
    assert await wallet.balances() == {ALICE: 500}


async def test_a_restarted_service_credits_an_invoice_made_before(
    service: TopupService,
    store: TopupRepository,
    wallet: AuditedWallet,
    cryptopay: CryptoPaySimulator,
    client: CryptoPayClient,
) -> None:
    topup = await service.start_cryptopay(ALICE, 500, "Wallet top-up")
    stars = await service.start_stars(BOB, 1000)
    after = TopupService(
        store, wallet, currency="USD", digits=2, stars_per_unit=Decimal(50), cryptopay=client
    )
    await cryptopay.pay(int(topup.charge_id or 0))
    await after.poll_invoices()
    await after.stars_paid(BOB, stars.payload, "charge-b", "XTR", 500)
    assert await wallet.balances() == {ALICE: 500, BOB: 1000}


async def test_an_invoice_that_is_not_the_top_ups_credits_nothing(
    service: TopupService, cryptopay: CryptoPaySimulator, wallet: AuditedWallet
) -> None:
    topup = await service.start_cryptopay(ALICE, 500, "Wallet top-up")
    invoice = cryptopay.invoices[int(topup.charge_id or 0)]
    invoice.amount = Decimal("0.01")
    await cryptopay.pay(invoice.invoice_id)
    await service.poll_invoices()
    assert await wallet.balances() == {}


_people = itertools.count(10_000)
# Per top-up: its amount, then what is spent from the wallet before Telegram refunds it.
refund_cases = st.lists(
    st.tuples(st.integers(1, 5000), st.integers(0, 6000), st.booleans()), min_size=1, max_size=4
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cases=refund_cases)
async def test_refunds_outside_the_bot_take_back_each_credit_once_and_never_below_zero(
    service: TopupService, wallet: AuditedWallet, cases: list[tuple[int, int, bool]]
) -> None:
    person = next(_people)  # a fresh wallet for every example
    expected = 0
    for n, (amount, spend, replayed) in enumerate(cases):
        topup = await service.start_stars(person, amount)
        charge = f"charge-{person}-{n}"
        assert (
            await service.stars_paid(person, topup.payload, charge, "XTR", topup.stars or 0)
            is not None
        )
        expected += amount
        spent = min(spend, expected)
        if spent:
            await wallet.debit(person, spent, key=f"spend-{charge}", reference="order")
            expected -= spent
        outside = await service.stars_refunded(charge)
        assert outside is not None and outside.taken + outside.spent == amount
        assert outside.taken == min(amount, expected) and outside.balance >= 0
        expected -= outside.taken
        if replayed:
            assert await service.stars_refunded(charge) is None
        assert await wallet.balance(person) == expected
    await wallet.check()
