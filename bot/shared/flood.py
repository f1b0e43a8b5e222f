"""Flood control shared by every instance: one token bucket per person in Redis.

The bucket is refilled and spent in one script on Redis's own clock, so instances whose clocks
differ, or that see the same person at the same moment, spend from one bucket.
"""

from __future__ import annotations

import math

from bot.shared.connection import SharedRedis

_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or burst
local at = tonumber(bucket[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= 1 then
    tokens = tokens - 1
    allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return allowed
"""


class RedisTokenBuckets:
    """`burst` updates at once, then `rate` a second, per person across all instances."""

    def __init__(self, shared: SharedRedis, rate: float, burst: int) -> None:
        self._shared = shared
        self._rate = rate
        self._burst = burst
        # A bucket left alone this long is full again: Redis may forget it.
        self._keep_ms = math.ceil(burst / rate * 1000) + 1000
        self._take = shared.client.register_script(_TAKE)

    async def allow(self, user_id: int) -> bool:
        key = self._shared.key("flood", user_id)
        allowed = await self._take(keys=[key], args=[self._rate, self._burst, self._keep_ms])
        return bool(allowed)
