"""aiogram FSM storage in the bot's database, so dialogs survive a restart."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from bot.storage.session import Session, Source


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


class DatabaseStorage(BaseStorage):
    """State and data per whole StorageKey; data is JSON (never pickled)."""

    def __init__(self, source: Source) -> None:
        self._src = source

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        async with self._src.transaction() as tx:
            await tx.execute(
                "INSERT INTO fsm (key, state) VALUES (:key, :state) "
                "ON CONFLICT (key) DO UPDATE SET state = excluded.state",
                {"key": _key(key), "state": value},
            )
            await _drop_if_empty(tx, key)

    async def get_state(self, key: StorageKey) -> str | None:
        async with self._src.read() as tx:
            row = await tx.fetchone("SELECT state FROM fsm WHERE key = :key", {"key": _key(key)})
        return None if row is None else row[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        text = _dump(data)
        async with self._src.transaction() as tx:
            await _write_data(tx, key, text)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self._src.read() as tx:
            row = await tx.fetchone("SELECT data FROM fsm WHERE key = :key", {"key": _key(key)})
        return {} if row is None else json.loads(row[0])

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        """Merge in one transaction, so concurrent updates of one key do not lose writes."""
        async with self._src.transaction() as tx:
            # The row exists (and, on PostgreSQL, is locked) before it is read: a concurrent
            # merge waits here instead of reading the same old data.
            await tx.execute(
                "INSERT INTO fsm (key) VALUES (:key) ON CONFLICT (key) DO NOTHING",
                {"key": _key(key)},
            )
            lock = " FOR UPDATE" if tx.dialect.postgres else ""
            row = await tx.fetchone(
                f"SELECT data FROM fsm WHERE key = :key{lock}", {"key": _key(key)}
            )
            assert row is not None
            merged: dict[str, Any] = json.loads(row[0])
            merged.update(data)
            await _write_data(tx, key, _dump(merged))
        return merged

    async def close(self) -> None:
        """Nothing to do: the application owns and closes the database."""


async def _write_data(tx: Session, key: StorageKey, text: str) -> None:
    await tx.execute(
        "INSERT INTO fsm (key, data) VALUES (:key, :data) "
        "ON CONFLICT (key) DO UPDATE SET data = excluded.data",
        {"key": _key(key), "data": text},
    )
    await _drop_if_empty(tx, key)


async def _drop_if_empty(tx: Session, key: StorageKey) -> None:
    # A cleared dialog leaves no row behind: the table holds only live conversations.
    await tx.execute(
        "DELETE FROM fsm WHERE key = :key AND state IS NULL AND data = '{}'", {"key": _key(key)}
    )
