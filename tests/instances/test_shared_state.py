"""What instances share through Redis, each piece seen from two instances (two connections)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from bot.panel.account import PanelAccount
from bot.panel.client import PanelClient
from bot.panel.models import Service
from bot.sandbox.simulator import PanelSimulator
from bot.services.accounts import Account
from bot.services.catalog import CatalogService
from bot.shared.catalogues import RedisCatalogues
from bot.shared.claims import RedisClaims
from bot.shared.connection import SharedRedis
from bot.shared.flood import RedisTokenBuckets
from bot.shared.memory import RedisRecentlyTold

KEY = "instances-key-0123456789"


async def test_one_flood_bucket_per_person_whichever_instance_sees_the_updates(
    shared: SharedRedis, other: SharedRedis
) -> None:
    # A rate so slow that no token comes back while the test runs.
    first, second = RedisTokenBuckets(shared, 0.001, 3), RedisTokenBuckets(other, 0.001, 3)

    taken = [await first.allow(1), await second.allow(1), await first.allow(1)]
    assert taken == [True, True, True]
    assert not await second.allow(1)
    assert not await first.allow(1)
    assert await second.allow(2)  # someone else's bucket is full


async def test_a_bucket_refills_at_the_rate(shared: SharedRedis, other: SharedRedis) -> None:
    # Refilled at once: a fast rate makes a whole token come back between two calls.
    fast = RedisTokenBuckets(shared, 1_000_000, 1)
    assert await fast.allow(1)
    assert await RedisTokenBuckets(other, 1_000_000, 1).allow(1)


async def test_a_stranger_is_refused_once_by_all_instances(
    shared: SharedRedis, other: SharedRedis
) -> None:
    first = RedisRecentlyTold(shared, "refused", 3600)
    second = RedisRecentlyTold(other, "refused", 3600)
    assert await first.first_time(7)
    assert not await second.first_time(7)
    assert not await first.first_time(7)
    assert await second.first_time(8)
    ttl = await shared.client.pttl(shared.key("told", "refused", 7))
    assert 3_500_000 < ttl <= 3_600_000  # forgotten after the interval


async def test_a_notification_is_claimed_by_one_instance_and_a_failure_frees_it(
    shared: SharedRedis, other: SharedRedis
) -> None:
    first, second = RedisClaims(shared), RedisClaims(other)
    a, b = ("order", 1, "Completed"), ("refill", 2, "Completed")

    assert await first.claim([a, b]) == {a, b}
    assert await second.claim([a, b]) == set()
    await second.release([a])  # not its claim: nothing happens
    assert await second.claim([a]) == set()
    await first.release([a])  # its send failed: another may try
    assert await second.claim([a, b]) == {a}


@pytest.fixture
async def sim() -> AsyncIterator[PanelSimulator]:
    async with PanelSimulator(keys={KEY: Decimal("1")}) as simulator:
        yield simulator


@pytest.fixture
async def account(sim: PanelSimulator) -> AsyncIterator[Account]:
    async with PanelClient(sim.url, timeout=5, read_retries=0, retry_backoff=0) as client:
        yield Account("shared", PanelAccount(client, KEY))


async def test_one_catalogue_fetch_serves_every_instance(
    sim: PanelSimulator, account: Account, shared: SharedRedis, other: SharedRedis
) -> None:
    first = CatalogService(60, shared=RedisCatalogues(shared))
    second = CatalogService(60, shared=RedisCatalogues(other))

    fetched = await first.get(account)
    served = await second.get(account)
    assert sim.request_count("services") == 1
    assert served.services == fetched.services
    assert served.categories == fetched.categories

    # Asking for a younger catalogue than the one kept fetches again.
    await second.get(account, max_age=0)
    assert sim.request_count("services") == 2

    await first.invalidate("shared")
    assert await RedisCatalogues(other).load("shared") is None


async def test_a_kept_catalogue_reads_back_exactly(shared: SharedRedis) -> None:
    # Names as the panel model left them after unescaping once: kept as they are, not
    # unescaped a second time; prices keep every digit.
    service = Service.model_validate(
        {
            "service": 5,
            "name": "Likes &amp;lt;fast&amp;gt; & 100% <real>",
            "category": "A &amp; B",
            "rate": "0.0012345",
            "min": "10",
            "max": "1000",
            "refill": True,
            "desc": "line one\nline two",
        }
    )
    store = RedisCatalogues(shared)
    await store.save("shared", (service,))
    kept = await store.load("shared")
    assert kept is not None
    age, (back,) = kept
    assert 0 <= age < 60
    assert back == service
    assert back.rate == Decimal("0.0012345")
    assert back.name == service.name
