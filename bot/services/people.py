"""People as the operator sees them: usernames (to find someone) and bans.

Every update asks "banned?" and brings a username: both are answered from memory, the ban
list re-read at most every ``CACHE_SECONDS`` (so a ban by another instance takes effect
within that), a username written only when it changed, and not by the update itself: the
updates go on, and the names met while one write is under way go in the next, in one
statement (a write each was a database round trip on every newcomer's first message). This
process finds a name at once (`find` waits for the names not yet written); another instance
a write later. A name that failed to be written, or was still unwritten when the process
ended, is written again at that person's next update.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Mapping
from typing import Protocol

from bot.storage.together import Together

CACHE_SECONDS = 2.0
BATCH = 500  # names a statement

log = logging.getLogger(__name__)


# Telegram's user IDs have at most 52 significant bits (Bot API, User.id).
_MAX_PERSON_ID = 2**52


def person_id(text: str) -> int | None:
    """The Telegram user ID `text` spells in ASCII digits, or None (other scripts' digits, which
    isdecimal() takes and int() reads, name nobody an admin meant; nor does 10**30)."""
    text = text.strip()
    if not (text.isascii() and text.isdecimal() and len(text) <= 16):
        return None
    number = int(text)
    return number if 0 < number < _MAX_PERSON_ID else None


class PeoplePort(Protocol):
    async def remember_usernames(self, usernames: Mapping[int, str | None]) -> None: ...

    async def username(self, telegram_id: int) -> str | None: ...

    async def find_username(self, username: str) -> int | None: ...

    async def set_banned(self, telegram_id: int, banned: bool) -> None: ...

    async def banned(self) -> set[int]: ...


class People:
    """`admin_ids`: never turned away, whatever the ban list says (see turned_away)."""

    def __init__(
        self,
        store: PeoplePort,
        *,
        admin_ids: Collection[int] = (),
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self._store = store
        self._admin_ids = frozenset(admin_ids)
        self._cache_seconds = cache_seconds
        self._usernames: dict[int, str | None] = {}  # as written, or about to be
        self._names: Together[int, str | None, None] = Together(
            self._write,
            batch=BATCH,
            keep=lambda _older, newer: newer,
            name="usernames",
            on_failure=self._not_written,
        )
        self._banned: set[int] = set()
        self._banned_read_at: float | None = None
        self._reading: asyncio.Future[None] | None = None
        self._ban_changes = 0  # bans and unbans made here, to know one landed during a read

    async def seen(self, telegram_id: int, username: str | None) -> None:
        name = username.lower() if username else None
        if telegram_id in self._usernames and self._usernames[telegram_id] == name:
            return
        self._usernames[telegram_id] = name
        self._names.put(telegram_id, name)

    async def written(self) -> None:
        """Every name seen so far is written (or failed to be)."""
        await self._names.settled()

    async def _write(self, batch: Mapping[int, str | None]) -> dict[int, None]:
        await self._store.remember_usernames(batch)
        return dict.fromkeys(batch)

    def _not_written(self, batch: Mapping[int, str | None], error: Exception) -> None:
        log.warning("usernames not written; tried again at the next update", exc_info=error)
        for telegram_id, name in batch.items():
            if self._usernames.get(telegram_id, name) == name:
                self._usernames.pop(telegram_id, None)

    async def turned_away(self, telegram_id: int) -> bool:
        """Whether the bot serves this person nothing: banned, and no admin."""
        return telegram_id not in self._admin_ids and await self.is_banned(telegram_id)

    async def is_banned(self, telegram_id: int) -> bool:
        now = time.monotonic()
        if self._banned_read_at is None or now - self._banned_read_at >= self._cache_seconds:
            if self._reading is None or self._reading.done():
                self._reading = asyncio.ensure_future(self._read_banned(now))
            # One read in flight, shared: every update that found the list stale at once
            # started its own (on PostgreSQL a round trip each). Shielded: an update cut off
            # leaves the others' read alone.
            await asyncio.shield(self._reading)
        return telegram_id in self._banned

    async def _read_banned(self, started: float) -> None:
        while True:
            changes = self._ban_changes
            banned = await self._store.banned()
            # A ban or unban of this process's that landed during the read may not show in
            # it: read again rather than forget it.
            if self._ban_changes == changes:
                break
        self._banned = banned
        self._banned_read_at = started

    async def ban(self, telegram_id: int, banned: bool) -> None:
        await self._store.set_banned(telegram_id, banned)
        self._ban_changes += 1
        if banned:
            self._banned.add(telegram_id)
        else:
            self._banned.discard(telegram_id)

    async def find(self, query: str) -> int | None:
        """A Telegram ID, or the person who last used ``@username`` (with or without the @)."""
        query = query.strip()
        if query.isdecimal():
            return person_id(query)
        if not query:
            return None
        await self.written()
        return await self._store.find_username(query.removeprefix("@"))

    async def username(self, telegram_id: int) -> str | None:
        await self.written()
        return await self._store.username(telegram_id)
