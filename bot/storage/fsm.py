"""aiogram FSM storage in the bot's SQLite database, so dialogs survive a restart."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from bot.storage.db import Database, Session


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


class SQLiteStorage(BaseStorage):
    """State and data per whole StorageKey; data is JSON (never pickled)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO fsm (key, state) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET state = excluded.state",
                (_key(key), value),
            )
            await _drop_if_empty(tx, key)

    async def get_state(self, key: StorageKey) -> str | None:
        row = await self._db.fetchone("SELECT state FROM fsm WHERE key = ?", (_key(key),))
        return None if row is None else row["state"]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        text = _dump(data)
        async with self._db.transaction() as tx:
            await _write_data(tx, key, text)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        row = await self._db.fetchone("SELECT data FROM fsm WHERE key = ?", (_key(key),))
        return {} if row is None else json.loads(row["data"])

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        """Merge in one transaction, so concurrent updates of one key do not lose writes."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT data FROM fsm WHERE key = ?", (_key(key),))
            merged: dict[str, Any] = {} if row is None else json.loads(row["data"])
            merged.update(data)
            await _write_data(tx, key, _dump(merged))
        return merged

    async def close(self) -> None:
        """Nothing to do: the application owns and closes the database."""


async def _write_data(tx: Session, key: StorageKey, text: str) -> None:
    await tx.execute(
        "INSERT INTO fsm (key, data) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET data = excluded.data",
        (_key(key), text),
    )
    await _drop_if_empty(tx, key)


async def _drop_if_empty(tx: Session, key: StorageKey) -> None:
    # A cleared dialog leaves no row behind: the table holds only live conversations.
    await tx.execute(
        "DELETE FROM fsm WHERE key = ? AND state IS NULL AND data = '{}'", (_key(key),)
    )
