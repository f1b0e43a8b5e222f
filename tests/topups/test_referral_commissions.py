"""Referral commissions on Crypto Pay top-ups, on the real records, wallet and users table
(SQLite, and PostgreSQL when TEST_DATABASE_URL is set): paid once however often the invoice is
seen paid, and written in one transaction with the top-up's credit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.payments.cryptopay import CryptoPayClient
from bot.sandbox.cryptopay import CryptoPaySimulator
from bot.services.ledger import check
from bot.services.referrals import Referrals, commission_key
from bot.services.topup_wallet import LedgerWallet
from bot.services.topups import TopupService, credit_key
from bot.storage import Database, UserRepository
from bot.storage.ledger import EntryKind, KeyConflict, Movement
from bot.storage.referrals import ReferralRepository
from bot.storage.topups import Provider, TopupRepository
from bot.storage.wallets import WalletRepository

ALICE, BOB = 101, 102


async def brought(db: Database, referrer: int, newcomer: int) -> Referrals:
    referrals = Referrals(ReferralRepository(db), Decimal(10))
    code = (await referrals.figures(referrer)).code
    await UserRepository(db).ensure(newcomer, "en", referral_code=code)
    assert await referrals.referrer_of(newcomer) == referrer
    return referrals


def service(db: Database, client: CryptoPayClient, referrals: Referrals) -> TopupService:
    return TopupService(
        TopupRepository(db),
        LedgerWallet(WalletRepository(db), referrals),
        currency="USD",
        digits=2,
        stars_per_unit=None,
        cryptopay=client,
        cryptopay_assets=["USDT"],
    )


async def test_an_invoice_seen_paid_twice_pays_its_commission_once(
    cryptopay: CryptoPaySimulator, client: CryptoPayClient, db: Database
) -> None:
    topups = service(db, client, await brought(db, BOB, ALICE))
    topup = await topups.start_cryptopay(ALICE, 2_345, "Wallet top-up")
    await cryptopay.pay(int(topup.charge_id or 0))
    await topups.poll_invoices()
    (invoice,) = await client.get_invoices([int(topup.charge_id or 0)])
    again = await topups.invoice_paid(invoice)
    assert again is not None and not again.fresh  # the webhook, after the poll
    ledger = WalletRepository(db)
    assert await ledger.wallets() == {ALICE: 2_345, BOB: 234}
    share = await ledger.by_key(
        commission_key(credit_key(Provider.CRYPTOPAY, str(invoice.invoice_id)))
    )
    assert share is not None and share.kind is EntryKind.REFERRAL_COMMISSION
    assert (await ReferralRepository(db).earned(BOB)) == 234
    assert await check(ledger) == []


async def test_a_commission_that_cannot_be_written_takes_the_credit_with_it(
    cryptopay: CryptoPaySimulator, client: CryptoPayClient, db: Database
) -> None:
    topups = service(db, client, await brought(db, BOB, ALICE))
    topup = await topups.start_cryptopay(ALICE, 1_000, "Wallet top-up")
    assert topup.charge_id is not None
    ledger = WalletRepository(db)
    # A stray entry holds the commission's key with another movement: its post fails.
    key = commission_key(credit_key(Provider.CRYPTOPAY, topup.charge_id))
    await ledger.post(Movement(BOB, EntryKind.ADMIN_CREDIT, 1, key, "admin:900", 900))
    await cryptopay.pay(int(topup.charge_id))
    with pytest.raises(KeyConflict):
        await topups.poll_invoices()
    # Nothing of the payment was written: the next look at it credits it whole.
    assert await ledger.wallets() == {BOB: 1}
    assert await check(ledger) == []
