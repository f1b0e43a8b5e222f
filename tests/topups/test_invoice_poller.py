"""The worker's invoice poller finds a paid invoice without any webhook and survives a
failing cycle."""

from __future__ import annotations

import asyncio

from bot.payments.cryptopay import CryptoPayClient
from bot.sandbox.cryptopay import CryptoPaySimulator
from bot.services.invoice_poller import InvoicePoller
from bot.services.topups import Credited
from bot.storage import Database
from tests.topups.conftest import AuditedWallet, crypto_only

ALICE = 101


async def test_a_paid_invoice_is_found_by_polling(
    cryptopay: CryptoPaySimulator, client: CryptoPayClient, db: Database, wallet: AuditedWallet
) -> None:
    credited = asyncio.Event()

    async def on_paid(_: Credited) -> None:
        credited.set()

    service = crypto_only(client, db, wallet, on_paid)
    failures = 0

    async def poll() -> None:
        nonlocal failures
        if failures < 1:
            failures += 1
            raise RuntimeError("the database is away")
        await service.poll_invoices()

    poller = InvoicePoller(poll, interval=0.01)
    topup = await service.start_cryptopay(ALICE, 500, "Wallet top-up")
    poller.start()
    try:
        await cryptopay.pay(int(topup.charge_id or 0))
        async with asyncio.timeout(10):
            await credited.wait()
    finally:
        await poller.stop()
    assert await wallet.balances() == {ALICE: 500} and failures == 1
