"""The Redis connection every shared piece uses, and the key prefix that keeps them apart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.shared.isolation import RenewedLockIsolation


class SharedRedis:
    """One client per process; every key starts with `prefix` (one Redis may serve several
    bots, and tests use a prefix each)."""

    def __init__(self, client: Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    @classmethod
    async def connect(cls, url: str, prefix: str) -> SharedRedis:
        """Raises RedisError (or OSError) when Redis cannot be reached."""
        client = Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
        try:
            await client.ping()
        except BaseException:
            await client.aclose()
            raise
        return cls(client, prefix)

    def key(self, *parts: object) -> str:
        return ":".join([self.prefix, *(str(part) for part in parts)])

    def fsm_storage(self, ttl_seconds: float) -> BaseStorage:
        """Conversation state, gone after `ttl_seconds` without a step (abandoned wizards)."""
        ttl = timedelta(seconds=ttl_seconds)
        return RedisStorage(self.client, key_builder=self._fsm_keys(), state_ttl=ttl, data_ttl=ttl)

    def event_isolation(self) -> BaseEventIsolation:
        """One person's updates handled one at a time, whichever instance receives them."""
        return RenewedLockIsolation(self.client, self._fsm_keys())

    @asynccontextmanager
    async def exclusive(self, name: str, *, hold_seconds: float) -> AsyncIterator[None]:
        """One instance at a time inside the block (waits for the others' turn)."""
        lock = self.client.lock(
            self.key("lock", name), timeout=hold_seconds, blocking_timeout=hold_seconds
        )
        if not await lock.acquire():
            raise RedisError(f"lock {name} not acquired within {hold_seconds} s")
        try:
            yield
        finally:
            # Expired meanwhile (the block outlived hold_seconds): nothing left to release.
            if await lock.owned():
                await lock.release()

    def _fsm_keys(self) -> DefaultKeyBuilder:
        return DefaultKeyBuilder(prefix=self.key("fsm"), with_destiny=True)

    async def close(self) -> None:
        await self.client.aclose()
