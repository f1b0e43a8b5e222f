"""Notifications in flight, claimed in Redis: two instances never send the same one."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from bot.services.notifying import Key
from bot.shared.connection import SharedRedis

# Longer than a queued notification waits for its send (429 pauses included); a claim of an
# instance that died frees itself after this long.
CLAIM_SECONDS = 900

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisClaims:
    def __init__(self, shared: SharedRedis, *, ttl: float = CLAIM_SECONDS) -> None:
        self._shared = shared
        self._ttl_ms = int(ttl * 1000)
        self._holder = uuid.uuid4().hex  # released only by whoever claimed
        self._release = shared.client.register_script(_RELEASE)

    async def claim(self, keys: Sequence[Key]) -> set[Key]:
        async with self._shared.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.set(self._key(key), self._holder, nx=True, px=self._ttl_ms)
            taken = await pipe.execute()
        return {key for key, ok in zip(keys, taken, strict=True) if ok}

    async def release(self, keys: Sequence[Key]) -> None:
        for key in keys:
            await self._release(keys=[self._key(key)], args=[self._holder])

    def _key(self, key: Key) -> str:
        kind, local_id, status = key
        return self._shared.key("notifying", kind, local_id, status)
