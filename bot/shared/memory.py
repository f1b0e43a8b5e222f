"""Who was told something lately, remembered in Redis so that every instance knows."""

from __future__ import annotations

import math

from bot.shared.connection import SharedRedis


class RedisRecentlyTold:
    """Like `bot.middlewares.people.RecentlyTold`, for all instances: Redis forgets a person
    `interval` seconds after they were told."""

    def __init__(self, shared: SharedRedis, name: str, interval: float) -> None:
        self._shared = shared
        self._name = name
        self._interval_ms = max(1, math.ceil(interval * 1000))

    async def first_time(self, user_id: int) -> bool:
        key = self._shared.key("told", self._name, user_id)
        return bool(await self._shared.client.set(key, 1, nx=True, px=self._interval_ms))
