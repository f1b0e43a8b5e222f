"""A person's lock across instances: held as long as the handler runs, freed soon after its
holder died."""

from __future__ import annotations

import asyncio

from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from redis.asyncio.lock import Lock

from bot.shared.connection import SharedRedis
from bot.shared.isolation import RenewedLockIsolation

LOCK = 1.0  # seconds: short, so that the test sees renewals and expiry


KEY = StorageKey(bot_id=1, chat_id=42, user_id=42)


def keys(shared: SharedRedis) -> DefaultKeyBuilder:
    return DefaultKeyBuilder(prefix=shared.key("fsm"), with_destiny=True)


def isolation(shared: SharedRedis) -> RenewedLockIsolation:
    return RenewedLockIsolation(shared.client, keys(shared), lock_seconds=LOCK)


async def test_a_long_handler_keeps_the_lock_and_the_next_update_waits(
    shared: SharedRedis, other: SharedRedis
) -> None:
    mine, theirs = isolation(shared), isolation(other)
    name = keys(shared).build(KEY, "lock")
    order: list[str] = []

    async def second() -> None:
        async with theirs.lock(KEY):
            order.append("second")

    async with mine.lock(KEY):
        waiting = asyncio.create_task(second())
        # Outlive the lock's own time several times over: each renewal resets its expiry.
        renewals = 0
        left = await shared.client.pttl(name)
        while renewals < 3:
            await asyncio.sleep(LOCK / 10)
            before, left = left, await shared.client.pttl(name)
            renewals += left > before
            assert left > 0  # never expired meanwhile
        order.append("first")
    await waiting
    assert order == ["first", "second"]


async def test_a_dead_holders_lock_frees_itself(shared: SharedRedis, other: SharedRedis) -> None:
    name = keys(shared).build(KEY, "lock")
    # Taken as a front end would, which then died: nobody renews it.
    assert await Lock(shared.client, name, timeout=LOCK).acquire()
    async with asyncio.timeout(LOCK * 20):
        async with isolation(other).lock(KEY):
            assert await shared.client.get(name) is not None  # now the live instance's
