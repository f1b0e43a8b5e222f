"""People as the operator sees them: usernames (to find someone) and bans.

Every update asks "banned?" and brings a username: both are answered from memory, the ban
list re-read at most every ``CACHE_SECONDS`` (so a ban by another instance takes effect
within that), a username written only when it changed.
"""

from __future__ import annotations

import time
from typing import Protocol

CACHE_SECONDS = 2.0


class PeoplePort(Protocol):
    async def remember_username(self, telegram_id: int, username: str | None) -> None: ...

    async def username(self, telegram_id: int) -> str | None: ...

    async def find_username(self, username: str) -> int | None: ...

    async def set_banned(self, telegram_id: int, banned: bool) -> None: ...

    async def banned(self) -> set[int]: ...


class People:
    def __init__(self, store: PeoplePort, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self._store = store
        self._cache_seconds = cache_seconds
        self._usernames: dict[int, str | None] = {}
        self._banned: set[int] = set()
        self._banned_read_at: float | None = None

    async def seen(self, telegram_id: int, username: str | None) -> None:
        name = username.lower() if username else None
        if telegram_id in self._usernames and self._usernames[telegram_id] == name:
            return
        await self._store.remember_username(telegram_id, name)
        self._usernames[telegram_id] = name

    async def is_banned(self, telegram_id: int) -> bool:
        now = time.monotonic()
        if self._banned_read_at is None or now - self._banned_read_at >= self._cache_seconds:
            self._banned = await self._store.banned()
            self._banned_read_at = now
        return telegram_id in self._banned

    async def ban(self, telegram_id: int, banned: bool) -> None:
        await self._store.set_banned(telegram_id, banned)
        if banned:
            self._banned.add(telegram_id)
        else:
            self._banned.discard(telegram_id)

    async def find(self, query: str) -> int | None:
        """A Telegram ID, or the person who last used ``@username`` (with or without the @)."""
        query = query.strip()
        if query.isdecimal():
            return int(query)
        return await self._store.find_username(query.removeprefix("@")) if query else None

    async def username(self, telegram_id: int) -> str | None:
        return await self._store.username(telegram_id)
