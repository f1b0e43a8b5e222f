"""aiogram FSM storage in the bot's database, so dialogs survive a restart.

Every change is written to the database before it is seen, and this process remembers what it
wrote and read: reading a person's state costs no database call once it is known, and a write
that changes nothing is not made. Different people's changes at once share one statement
(bot.storage.together), each still awaited until committed. That memory is right only while
this process is the only one writing the table. One bot process (polling or webhook) with its
worker is that case; several front ends serving one bot must share a Redis storage instead
(REDIS_URL).
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, StateType, StorageKey

from bot.storage.session import Source, many_values
from bot.storage.together import Together

EMPTY = "{}"
UPSERTS = 300  # keys a statement: three parameters each


class Dialog(NamedTuple):
    """One key's state and data (as JSON text: every reader gets a fresh copy)."""

    state: str | None
    data: str


NONE = Dialog(None, EMPTY)


# An update asks for its key's name a few times (the state read before the handler, then the
# handler's changes): made once.
@lru_cache(maxsize=1024)
def _key(key: StorageKey) -> str:
    # Every field, in a fixed order: keys differing only in thread or destiny never collide.
    return json.dumps(
        [
            key.bot_id,
            key.chat_id,
            key.user_id,
            key.thread_id,
            key.business_connection_id,
            key.destiny,
        ],
        separators=(",", ":"),
    )


def _state(state: StateType) -> str | None:
    return state.state if isinstance(state, State) else state


def _dump(data: Mapping[str, Any]) -> str:
    if not isinstance(data, Mapping):
        raise DataNotDictLikeError(
            f"Data must be a dict or dict-like object, got {type(data).__name__}"
        )
    plain = dict(data)
    try:
        text = json.dumps(plain, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"FSM data must be JSON-serialisable: {exc}") from None
    # Tuples, non-string keys and NaN would come back different after a restart: refuse now.
    if json.loads(text) != plain:
        raise TypeError(
            "FSM data must survive a JSON round trip unchanged "
            "(string keys, lists rather than tuples, no NaN)"
        )
    return text


class KeyLocks:
    """An asyncio lock per key, kept only while someone holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    def held(self, name: Hashable) -> bool:
        """Whether someone holds or awaits `name`'s lock."""
        return name in self._locks

    def hold(self, name: Hashable) -> Held:
        """``async with locks.hold(name)``: `name`'s lock held inside the block."""
        return Held(self, name)

    def _enter(self, name: Hashable) -> asyncio.Lock:
        lock, users = self._locks.get(name, (None, 0))
        lock = lock or asyncio.Lock()
        self._locks[name] = (lock, users + 1)
        return lock

    def _leave(self, name: Hashable) -> None:
        lock, users = self._locks[name]
        if users == 1:
            del self._locks[name]
        else:
            self._locks[name] = (lock, users - 1)


class Held:
    """One hold of a key's lock (see KeyLocks.hold). A class rather than an async generator:
    the event loop tracks every async generator made, a cost paid at every update."""

    __slots__ = ("_lock", "_locks", "_name")

    def __init__(self, locks: KeyLocks, name: Hashable) -> None:
        self._locks = locks
        self._name = name

    async def __aenter__(self) -> None:
        self._lock = self._locks._enter(self._name)
        try:
            await self._lock.acquire()
        except BaseException:
            self._locks._leave(self._name)  # cut off while waiting: never held
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self._lock.release()
        self._locks._leave(self._name)


class KeyIsolation(BaseEventIsolation):
    """One update at a time per key in this process, as aiogram's SimpleEventIsolation, whose
    locks are kept forever (one per person ever met) and taken through an async generator:
    these are kept only while held."""

    def __init__(self) -> None:
        self._locks = KeyLocks()

    def lock(self, key: StorageKey) -> Held:  # type: ignore[override]
        return self._locks.hold(key)

    async def close(self) -> None:
        """Nothing to close: a lock lives only while it is held."""


class DatabaseStorage(BaseStorage):
    """State and data per whole StorageKey; data is JSON (never pickled).

    `remembered`: how many keys this process keeps in memory (the least recently used are
    forgotten first, and read again from the database when needed).
    """

    def __init__(self, source: Source, *, remembered: int = 100_000) -> None:
        self._src = source
        self._capacity = remembered
        self._known: OrderedDict[str, Dialog] = OrderedDict()
        # The keys that have a row (live conversations only), read once: a key not among them
        # needs no read, which spares one for every newcomer and every person without a dialog.
        self._stored: set[str] | None = None
        self._stored_lock = asyncio.Lock()
        # One change at a time per key, the read of a key not known yet included: what is
        # remembered is always what the database holds.
        self._locks = KeyLocks()
        # Different people's changes at once share a statement (each waits for its commit).
        self._upserts: Together[str, Dialog, None] = Together(
            self._upsert, batch=UPSERTS, keep=lambda _waiting, new: new, name="fsm"
        )

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        name = _key(key)
        now = self._known_now(name)
        if now is not None and now.state == _state(state):
            return  # e.g. the wizard's state set again at each question, a clear of nothing
        async with self._locks.hold(name):
            old = await self._load(name)
            await self._write(name, old, Dialog(_state(state), old.data))

    async def set_dialog(self, key: StorageKey, state: StateType, data: Mapping[str, Any]) -> None:
        """State and data in one write (see `set_dialog` below)."""
        text = _dump(data)
        name = _key(key)
        async with self._locks.hold(name):
            old = await self._load(name)
            await self._write(name, old, Dialog(_state(state), text))

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._known_or_load(_key(key))).state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        text = _dump(data)
        name = _key(key)
        now = self._known_now(name)
        if now is not None and now.data == text:
            return
        async with self._locks.hold(name):
            old = await self._load(name)
            await self._write(name, old, Dialog(old.state, text))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((await self._known_or_load(_key(key))).data)
        return data

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        """Merged under the key's lock, so concurrent updates of one key do not lose writes."""
        name = _key(key)
        async with self._locks.hold(name):
            old = await self._load(name)
            merged: dict[str, Any] = json.loads(old.data)
            merged.update(data)
            await self._write(name, old, Dialog(old.state, _dump(merged)))
        return merged

    async def close(self) -> None:
        """The changes under way are written; the application owns and closes the database."""
        await self._upserts.settled()

    async def _known_or_load(self, name: str) -> Dialog:
        now = self._known_now(name)
        if now is not None:
            return now
        async with self._locks.hold(name):
            return await self._load(name)

    def _known_now(self, name: str) -> Dialog | None:
        """The key's dialog without waiting for its lock, if this process knows it (None: read
        it under the lock). A remembered one is what the database holds (a change forgets it
        before writing); a key with no row, and no change of it under way, is empty: nothing
        to read (every newcomer's first update, and everyone outside a conversation, asks)."""
        known = self._known.get(name)
        if known is not None:
            self._known.move_to_end(name)
            return known
        if self._stored is not None and name not in self._stored and not self._locks.held(name):
            return NONE
        return None

    async def _load(self, name: str) -> Dialog:
        """The key's dialog; the caller holds the key's lock."""
        known = self._known.get(name)
        if known is not None:
            self._known.move_to_end(name)
            return known
        rows: Sequence[Sequence[Any]] = ()
        if name in await self._stored_keys():
            rows = await self._src.read_statement(
                "SELECT state, data FROM fsm WHERE key = :key", {"key": name}
            )
        dialog = Dialog(rows[0][0], rows[0][1]) if rows else NONE
        self._remember(name, dialog)
        return dialog

    async def _write(self, name: str, old: Dialog, new: Dialog) -> None:
        """Store `new` in place of `old`; the caller holds the key's lock."""
        if new == old:
            return  # e.g. the state set again, or a clear of nothing
        # Remembered only once committed: a failed write leaves memory as the database is.
        self._known.pop(name, None)
        assert self._stored is not None  # read by _load
        try:
            if new == NONE:
                # A cleared dialog leaves no row behind: the table holds only live ones.
                await self._src.write_statement("DELETE FROM fsm WHERE key = :key", {"key": name})
            else:
                await self._upserts.write(name, new)
        except BaseException:
            # The outcome may be unknown (the connection lost at COMMIT): the next use of the
            # key reads what the database holds.
            self._stored.add(name)
            raise
        if new == NONE:
            self._stored.discard(name)
        else:
            self._stored.add(name)
        self._remember(name, new)

    async def _upsert(self, dialogs: Mapping[str, Dialog]) -> dict[str, None]:
        values, params = many_values(
            "(:key, :state, :data)",
            ({"key": name, "state": d.state, "data": d.data} for name, d in dialogs.items()),
        )
        await self._src.write_statement(
            f"INSERT INTO fsm (key, state, data) VALUES {values} "
            "ON CONFLICT (key) DO UPDATE SET state = excluded.state, data = excluded.data",
            params,
        )
        return dict.fromkeys(dialogs)

    async def _stored_keys(self) -> set[str]:
        async with self._stored_lock:
            if self._stored is None:
                async with self._src.read() as tx:
                    self._stored = {row[0] for row in await tx.fetchall("SELECT key FROM fsm")}
        return self._stored

    def _remember(self, name: str, dialog: Dialog) -> None:
        if self._capacity <= 0:
            return
        self._known[name] = dialog
        self._known.move_to_end(name)
        while len(self._known) > self._capacity:
            self._known.popitem(last=False)


async def set_dialog(context: FSMContext, state: StateType, data: Mapping[str, Any]) -> None:
    """A new state with new data: in one database write where aiogram's `set_state` and
    `set_data` make two (a shared Redis storage gets the two)."""
    if isinstance(context.storage, DatabaseStorage):
        await context.storage.set_dialog(context.key, state, data)
        return
    await context.set_state(state)
    await context.set_data(data)
