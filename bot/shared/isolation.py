"""One person's updates handled one at a time across instances, with locks a dead instance
cannot keep for long.

aiogram's `RedisEventIsolation` holds a lock for a fixed time: long enough for any handler
means a person whose update died with its instance waits that long for their next answer.
Here the lock lives `LOCK_SECONDS` and its holder renews it while the handler runs: a handler
may run as long as it needs, and a dead instance's lock frees itself within `LOCK_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from aiogram.fsm.storage.base import BaseEventIsolation, KeyBuilder, StorageKey
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, RedisError

log = logging.getLogger(__name__)

LOCK_SECONDS = 10.0
WAIT_STEP = 0.05  # how often a waiting update asks whether the lock is free


class RenewedLockIsolation(BaseEventIsolation):
    def __init__(
        self, redis: Redis, key_builder: KeyBuilder, *, lock_seconds: float = LOCK_SECONDS
    ) -> None:
        self._redis = redis
        self._keys = key_builder
        self._lock_seconds = lock_seconds

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        lock = Lock(
            self._redis, self._keys.build(key, "lock"), timeout=self._lock_seconds, sleep=WAIT_STEP
        )
        await lock.acquire()
        renewing = asyncio.create_task(_renew(lock, self._lock_seconds / 3))
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            # Lost meanwhile (Redis was unreachable for LOCK_SECONDS): nothing to release.
            with contextlib.suppress(LockError):
                await lock.release()

    async def close(self) -> None:
        return None


async def _renew(lock: Lock, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await lock.reacquire()
        except (LockError, RedisError) as exc:
            # Another update of the person's may now run beside this one: say so, go on.
            log.warning("a person's lock could not be renewed: %s", type(exc).__name__)
            return
