from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.payments.cryptopay import CryptoPayClient
from bot.sandbox.cryptopay import CryptoPaySimulator
from bot.services.topups import Credited, TopupService
from tests.topups.memory import MemoryTopups, MemoryWallet


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
    wallet: MemoryWallet,
    on_paid: Callable[[Credited], Awaitable[None]] | None = None,
) -> TopupService:
    """A shop in USD taking Crypto Pay only (USDT), on in-memory records."""
    return TopupService(
        MemoryTopups(),
        wallet,
        currency="USD",
        digits=2,
        stars_per_unit=None,
        cryptopay=client,
        cryptopay_assets=["USDT"],
        on_paid=on_paid,
    )
