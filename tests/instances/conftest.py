"""Several instances on one Redis (127.0.0.1:6379, as on CI): each test has a prefix of its own
and removes only its own keys."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from bot.sandbox.simulator import PanelSimulator
from bot.shared.connection import SharedRedis
from tests.bot.harness import SHARED_KEY
from tests.fakes.telegram import FakeTelegram

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def shared(redis_prefix: str) -> AsyncIterator[SharedRedis]:
    """One instance's connection (`other` is a second one)."""
    connection = await SharedRedis.connect(REDIS_URL, redis_prefix)
    yield connection
    async for key in connection.client.scan_iter(match=f"{redis_prefix}:*"):
        await connection.client.delete(key)
    await connection.close()


@pytest.fixture
async def other(redis_prefix: str, shared: SharedRedis) -> AsyncIterator[SharedRedis]:
    """A second instance's connection to the same Redis and prefix."""
    connection = await SharedRedis.connect(REDIS_URL, redis_prefix)
    yield connection
    await connection.close()


@pytest.fixture
async def sim() -> AsyncIterator[PanelSimulator]:
    async with PanelSimulator(keys={SHARED_KEY: Decimal("100")}) as simulator:
        yield simulator


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server
