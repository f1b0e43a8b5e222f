from collections.abc import AsyncIterator

import pytest

from bot.payments.cryptopay import CryptoPayClient
from bot.sandbox.cryptopay import CryptoPaySimulator


@pytest.fixture
async def cryptopay() -> AsyncIterator[CryptoPaySimulator]:
    async with CryptoPaySimulator() as sim:
        yield sim


@pytest.fixture
async def client(cryptopay: CryptoPaySimulator) -> AsyncIterator[CryptoPayClient]:
    client = CryptoPayClient(cryptopay.token, cryptopay.url, timeout=5)
    yield client
    await client.close()
