from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.payments.cryptopay import CryptoPayClient
from bot.sandbox.cryptopay import CryptoPaySimulator
from bot.services.ledger import check
from bot.services.topup_wallet import LedgerWallet
from bot.services.topups import Credited, TopupService
from bot.storage import Database
from bot.storage.topups import TopupRepository
from bot.storage.wallets import WalletRepository


class AuditedWallet(LedgerWallet):
    """The shop's real wallet (its ledger in the test database), with what tests ask of it."""

    def __init__(self, db: Database) -> None:
        self.ledger = WalletRepository(db)
        super().__init__(self.ledger)

    async def balances(self) -> dict[int, int]:
        return await self.ledger.wallets()

    async def check(self) -> None:
        """`python -m bot ledger-check`: the ledger agrees with itself."""
        assert await check(self.ledger) == []


@pytest.fixture
async def wallet(db: Database) -> AsyncIterator[AuditedWallet]:
    wallet = AuditedWallet(db)
    yield wallet
    await wallet.check()


@pytest.fixture
async def cryptopay() -> AsyncIterator[CryptoPaySimulator]:
    async with CryptoPaySimulator() as sim:
        yield sim


@pytest.fixture
async def client(cryptopay: CryptoPaySimulator) -> AsyncIterator[CryptoPayClient]:
    client = CryptoPayClient(cryptopay.token, cryptopay.url, timeout=5)
    yield client
    await client.close()


def crypto_only(
    client: CryptoPayClient,
    db: Database,
    wallet: AuditedWallet,
    on_paid: Callable[[Credited], Awaitable[None]] | None = None,
) -> TopupService:
    """A shop in USD taking Crypto Pay only (USDT), on the real top-up records and wallet."""
    return TopupService(
        TopupRepository(db),
        wallet,
        currency="USD",
        digits=2,
        stars_per_unit=None,
        cryptopay=client,
        cryptopay_assets=["USDT"],
        on_paid=on_paid,
    )
