"""The operator's console tables: broadcasts with their recipients, and console settings.

Created on first use (``CREATE TABLE IF NOT EXISTS``) rather than as a numbered migration, so
that this module does not collide with the move of the schema to SQLAlchemy + Alembic; there it
becomes one Alembic revision with the same tables.
"""

from __future__ import annotations

import json
import time
import weakref
from decimal import Decimal, InvalidOperation

from bot.broadcasts import (
    Audience,
    Broadcast,
    BroadcastState,
    Content,
    Outcome,
    Progress,
    Segment,
)
from bot.storage.db import Database, Session

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS broadcasts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        admin_id INTEGER NOT NULL,
        content_json TEXT NOT NULL,
        segment TEXT NOT NULL,
        language TEXT,
        state TEXT NOT NULL CHECK (state IN ('running', 'cancelled', 'finished')),
        progress_chat_id INTEGER,
        progress_message_id INTEGER,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS broadcast_recipients (
        broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
        chat_id INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'claimed', 'sent', 'blocked', 'failed')),
        updated_at REAL NOT NULL,
        PRIMARY KEY (broadcast_id, chat_id)
    )""",
    "CREATE INDEX IF NOT EXISTS broadcast_recipients_by_state "
    "ON broadcast_recipients (broadcast_id, state)",
    """CREATE TABLE IF NOT EXISTS console_people (
        telegram_id INTEGER PRIMARY KEY,
        username TEXT,
        banned INTEGER NOT NULL DEFAULT 0 CHECK (banned IN (0, 1)),
        updated_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS console_people_by_username ON console_people (username)",
    """CREATE TABLE IF NOT EXISTS console_settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at REAL NOT NULL
    )""",
)

_ready: weakref.WeakSet[Database] = weakref.WeakSet()


async def _session(db: Database) -> None:
    if db in _ready:
        return
    async with db.transaction() as session:
        for statement in _SCHEMA:
            await session.execute(statement)
    _ready.add(db)


def _audience_sql(audience: Audience) -> tuple[str, list[object]]:
    sql = "SELECT telegram_id FROM users WHERE blocked = 0"
    params: list[object] = []
    if audience.segment is Segment.RECENT_BUYERS:
        sql += (
            " AND EXISTS (SELECT 1 FROM orders WHERE orders.owner_id = users.telegram_id"
            " AND orders.placement = 'placed' AND orders.created_at >= ?)"
        )
    elif audience.segment is Segment.LANGUAGE:
        sql += " AND language = ?"
        params.append(audience.language)
    return sql, params


def _since(audience: Audience, since: float, params: list[object]) -> list[object]:
    return [since, *params] if audience.segment is Segment.RECENT_BUYERS else params


class SqliteBroadcastStore:
    """``bot.services.broadcast.BroadcastStore`` on the bot's SQLite database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def count_audience(self, audience: Audience, *, since: float) -> int:
        await _session(self._db)
        sql, params = _audience_sql(audience)
        row = await self._db.fetchone(
            f"SELECT COUNT(*) FROM ({sql})", _since(audience, since, params)
        )
        return int(row[0]) if row else 0

    async def create(
        self, admin_id: int, content: Content, audience: Audience, *, since: float
    ) -> Broadcast:
        await _session(self._db)
        sql, params = _audience_sql(audience)
        now = time.time()
        async with self._db.transaction() as session:
            await session.execute(
                "INSERT INTO broadcasts (admin_id, content_json, segment, language, state, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, 'running', ?, ?)",
                (
                    admin_id,
                    json.dumps(content.as_data()),
                    audience.segment.value,
                    audience.language,
                    now,
                    now,
                ),
            )
            row = await session.fetchone("SELECT last_insert_rowid()")
            assert row is not None
            broadcast_id = int(row[0])
            await session.execute(
                "INSERT INTO broadcast_recipients (broadcast_id, chat_id, updated_at) "
                f"SELECT ?, telegram_id, ? FROM ({sql})",
                [broadcast_id, now, *_since(audience, since, params)],
            )
            created = await _get(session, broadcast_id)
        assert created is not None
        return created

    async def set_progress_message(self, broadcast_id: int, chat_id: int, message_id: int) -> None:
        await self._db.execute(
            "UPDATE broadcasts SET progress_chat_id = ?, progress_message_id = ?, updated_at = ? "
            "WHERE id = ?",
            (chat_id, message_id, time.time(), broadcast_id),
        )

    async def get(self, broadcast_id: int) -> Broadcast | None:
        await _session(self._db)
        async with self._db.transaction() as session:
            return await _get(session, broadcast_id)

    async def running(self) -> list[Broadcast]:
        await _session(self._db)
        rows = await self._db.fetchall(
            "SELECT * FROM broadcasts WHERE state = 'running' ORDER BY id"
        )
        return [_broadcast(row) for row in rows]

    async def claim(self, broadcast_id: int, limit: int) -> list[int]:
        if limit <= 0:
            return []
        now = time.time()
        async with self._db.transaction() as session:
            rows = await session.fetchall(
                "SELECT chat_id FROM broadcast_recipients WHERE broadcast_id = ? "
                "AND state = 'pending' ORDER BY chat_id LIMIT ?",
                (broadcast_id, limit),
            )
            claimed = [int(row[0]) for row in rows]
            await session.executemany(
                "UPDATE broadcast_recipients SET state = 'claimed', updated_at = ? "
                "WHERE broadcast_id = ? AND chat_id = ? AND state = 'pending'",
                [(now, broadcast_id, chat_id) for chat_id in claimed],
            )
        return claimed

    async def settle(self, broadcast_id: int, chat_id: int, outcome: Outcome) -> bool:
        changed = await self._db.execute(
            "UPDATE broadcast_recipients SET state = ?, updated_at = ? "
            "WHERE broadcast_id = ? AND chat_id = ? AND state = 'claimed'",
            (outcome.value, time.time(), broadcast_id, chat_id),
        )
        return changed == 1

    async def abandon_claims(self, broadcast_id: int) -> int:
        return await self._db.execute(
            "UPDATE broadcast_recipients SET state = 'failed', updated_at = ? "
            "WHERE broadcast_id = ? AND state = 'claimed'",
            (time.time(), broadcast_id),
        )

    async def progress(self, broadcast_id: int) -> Progress:
        rows = await self._db.fetchall(
            "SELECT state, COUNT(*) FROM broadcast_recipients WHERE broadcast_id = ? "
            "GROUP BY state",
            (broadcast_id,),
        )
        counts = {str(row[0]): int(row[1]) for row in rows}
        return Progress(
            total=sum(counts.values()),
            sent=counts.get("sent", 0),
            blocked=counts.get("blocked", 0),
            failed=counts.get("failed", 0),
        )

    async def finish(self, broadcast_id: int, state: BroadcastState) -> bool:
        changed = await self._db.execute(
            "UPDATE broadcasts SET state = ?, updated_at = ? WHERE id = ? AND state = 'running'",
            (state.value, time.time(), broadcast_id),
        )
        return changed == 1


async def _get(session: Session, broadcast_id: int) -> Broadcast | None:
    row = await session.fetchone("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
    return None if row is None else _broadcast(row)


def _broadcast(row: object) -> Broadcast:
    get = row.__getitem__  # an aiosqlite.Row
    return Broadcast(
        id=int(get("id")),
        admin_id=int(get("admin_id")),
        content=Content.from_data(json.loads(get("content_json"))),
        state=BroadcastState(get("state")),
        progress_chat_id=get("progress_chat_id"),
        progress_message_id=get("progress_message_id"),
    )


class PeopleStore:
    """What the console knows of a person beyond the users table: username, ban."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def remember_username(self, telegram_id: int, username: str | None) -> None:
        await _session(self._db)
        await self._db.execute(
            "INSERT INTO console_people (telegram_id, username, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (telegram_id) DO UPDATE SET username = excluded.username, "
            "updated_at = excluded.updated_at",
            (telegram_id, username.lower() if username else None, time.time()),
        )

    async def username(self, telegram_id: int) -> str | None:
        await _session(self._db)
        row = await self._db.fetchone(
            "SELECT username FROM console_people WHERE telegram_id = ?", (telegram_id,)
        )
        return None if row is None or row[0] is None else str(row[0])

    async def find_username(self, username: str) -> int | None:
        await _session(self._db)
        row = await self._db.fetchone(
            "SELECT telegram_id FROM console_people WHERE username = ? "
            "ORDER BY updated_at DESC LIMIT 1",
            (username.lower(),),
        )
        return None if row is None else int(row[0])

    async def set_banned(self, telegram_id: int, banned: bool) -> None:
        await _session(self._db)
        await self._db.execute(
            "INSERT INTO console_people (telegram_id, banned, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (telegram_id) DO UPDATE SET banned = excluded.banned, "
            "updated_at = excluded.updated_at",
            (telegram_id, int(banned), time.time()),
        )

    async def banned(self) -> set[int]:
        await _session(self._db)
        rows = await self._db.fetchall("SELECT telegram_id FROM console_people WHERE banned = 1")
        return {int(row[0]) for row in rows}


class SettingsStore:
    """Console settings every instance reads from the database (maintenance mode)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, name: str) -> str | None:
        await _session(self._db)
        row = await self._db.fetchone("SELECT value FROM console_settings WHERE name = ?", (name,))
        return None if row is None else str(row[0])

    async def set(self, name: str, value: str) -> None:
        await _session(self._db)
        await self._db.execute(
            "INSERT INTO console_settings (name, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            (name, value, time.time()),
        )


class OrderStats:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def placed_since(self, since: float) -> list[tuple[float, Decimal]]:
        """(created_at, price) of orders placed on the panel since ``since`` (price 0 when
        unknown)."""
        rows = await self._db.fetchall(
            "SELECT created_at, price FROM orders WHERE placement = 'placed' AND created_at >= ? "
            "ORDER BY created_at",
            (since,),
        )
        return [(float(row[0]), _price(row[1])) for row in rows]


def _price(value: object) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)
