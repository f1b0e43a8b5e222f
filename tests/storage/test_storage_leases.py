"""Leases: exactly one holder per name, whatever the number of contenders."""

import asyncio

from bot.storage import Database, LeaseRepository


async def test_a_free_lease_is_taken_and_held_against_others(db: Database) -> None:
    leases = LeaseRepository(db)
    assert await leases.holder("worker", now=0.0) is None
    assert await leases.acquire("worker", "a", ttl=10.0, now=0.0)
    assert not await leases.acquire("worker", "b", ttl=10.0, now=5.0)
    assert await leases.holder("worker", now=5.0) == "a"
    # Already mine: taking it again extends it.
    assert await leases.acquire("worker", "a", ttl=10.0, now=8.0)
    assert not await leases.acquire("worker", "b", ttl=10.0, now=15.0)
    # Other names are other leases.
    assert await leases.acquire("other", "b", ttl=10.0, now=0.0)


async def test_an_expired_lease_goes_to_the_next_contender(db: Database) -> None:
    leases = LeaseRepository(db)
    assert await leases.acquire("worker", "a", ttl=10.0, now=0.0)
    assert await leases.holder("worker", now=10.0) is None
    assert await leases.acquire("worker", "b", ttl=10.0, now=10.0)
    # The old holder finds out when renewing: it must stop.
    assert not await leases.renew("worker", "a", ttl=10.0, now=11.0)
    assert await leases.holder("worker", now=11.0) == "b"


async def test_renew_keeps_a_live_lease_and_not_a_lapsed_one(db: Database) -> None:
    leases = LeaseRepository(db)
    assert not await leases.renew("worker", "a", ttl=10.0, now=0.0)  # never taken
    assert await leases.acquire("worker", "a", ttl=10.0, now=0.0)
    assert await leases.renew("worker", "a", ttl=10.0, now=9.0)
    assert await leases.holder("worker", now=18.0) == "a"
    assert not await leases.renew("worker", "a", ttl=10.0, now=19.0)  # lapsed at 19


async def test_release_frees_it_at_once_but_only_for_the_holder(db: Database) -> None:
    leases = LeaseRepository(db)
    assert await leases.acquire("worker", "a", ttl=10.0, now=0.0)
    assert not await leases.release("worker", "b")
    assert await leases.holder("worker", now=1.0) == "a"
    assert await leases.release("worker", "a")
    assert await leases.acquire("worker", "b", ttl=10.0, now=1.0)


async def test_of_many_contenders_at_once_exactly_one_wins(database_url: str) -> None:
    # Two engines, as two processes would have.
    async with await Database.open(database_url) as a, await Database.open(database_url) as b:
        contenders = [LeaseRepository(a if i % 2 else b) for i in range(10)]
        won = await asyncio.gather(
            *(c.acquire("worker", f"w{i}", ttl=10.0, now=0.0) for i, c in enumerate(contenders))
        )
        assert sum(won) == 1
        winner = f"w{won.index(True)}"
        assert await LeaseRepository(a).holder("worker", now=1.0) == winner
