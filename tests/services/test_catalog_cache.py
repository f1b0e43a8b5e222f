"""The catalogue cache over the real wire: one fetch per key per TTL, bounded in own-key mode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from bot.panel.account import PanelAccount
from bot.panel.client import PanelClient
from bot.sandbox.simulator import PanelSimulator
from bot.services.accounts import Account
from bot.services.catalog import CatalogService

KEYS = [f"catalog-key-{n:02d}-0123456789" for n in range(4)]


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def sim() -> AsyncIterator[PanelSimulator]:
    async with PanelSimulator(keys=dict.fromkeys(KEYS, Decimal("1"))) as simulator:
        yield simulator


@pytest.fixture
async def accounts(sim: PanelSimulator) -> AsyncIterator[list[Account]]:
    async with PanelClient(sim.url, timeout=5, read_retries=0, retry_backoff=0) as client:
        yield [Account(f"key{n}", PanelAccount(client, key)) for n, key in enumerate(KEYS)]


async def test_one_fetch_per_key_within_the_ttl(
    sim: PanelSimulator, accounts: list[Account]
) -> None:
    clock = Clock()
    catalog = CatalogService(60, clock)
    first = await catalog.get(accounts[0])
    assert await catalog.get(accounts[0]) is first
    await catalog.get(accounts[1])
    assert sim.request_count("services") == 2

    clock.now = 61
    await catalog.get(accounts[0])
    assert sim.request_count("services") == 3


async def test_only_the_most_recently_used_keys_are_kept(
    sim: PanelSimulator, accounts: list[Account]
) -> None:
    catalog = CatalogService(60, Clock(), max_accounts=2)
    for account in accounts[:2]:
        await catalog.get(account)
    await catalog.get(accounts[0])  # used again: now the most recent
    await catalog.get(accounts[2])  # evicts accounts[1], the least recently used
    assert sim.request_count("services") == 3

    await catalog.get(accounts[0])
    assert sim.request_count("services") == 3  # still cached
    await catalog.get(accounts[1])
    assert sim.request_count("services") == 4  # fetched again


async def test_max_age_asks_for_a_younger_catalogue_and_people_at_once_share_it(
    sim: PanelSimulator, accounts: list[Account]
) -> None:
    clock = Clock()
    catalog = CatalogService(60, clock)
    first = await catalog.get(accounts[0])
    clock.now = 10
    assert await catalog.get(accounts[0], max_age=20) is first  # young enough: no fetch
    assert sim.request_count("services") == 1

    # Confirm pressed by several people at once, each with a quote made 5 s ago.
    fetched = [await catalog.get(accounts[0], max_age=5) for _ in range(3)]
    assert fetched[0] is not first and all(c is fetched[0] for c in fetched)
    assert sim.request_count("services") == 2
