"""Maintenance mode: while on, customers are told so instead of browsing and ordering.

The flag lives in the database, so every instance sees an operator's switch; it is read at
most once every ``CACHE_SECONDS`` per instance, since every customer update asks.
"""

from __future__ import annotations

import time
from typing import Protocol

CACHE_SECONDS = 2.0
_FLAG = "maintenance"


class SettingsPort(Protocol):
    async def get(self, name: str) -> str | None: ...

    async def set(self, name: str, value: str) -> None: ...


class Maintenance:
    def __init__(self, settings: SettingsPort, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self._settings = settings
        self._cache_seconds = cache_seconds
        self._on = False
        self._read_at: float | None = None

    async def is_on(self) -> bool:
        now = time.monotonic()
        if self._read_at is None or now - self._read_at >= self._cache_seconds:
            self._on = await self._settings.get(_FLAG) == "on"
            self._read_at = now
        return self._on

    async def switch(self, on: bool) -> None:
        await self._settings.set(_FLAG, "on" if on else "off")
        self._on = on
        self._read_at = time.monotonic()
