"""The operator's console tables (revision 0005): broadcasts with their recipients,
what the console knows of a person, console settings; and the order figures for /stats."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from bot.broadcasts import (
    Audience,
    Broadcast,
    BroadcastState,
    Content,
    Outcome,
    Progress,
    Segment,
)
from bot.storage.session import Params, Session, Source, many_values

_BROADCAST = (
    "SELECT id, admin_id, content_json, state, progress_chat_id, progress_message_id "
    "FROM broadcasts"
)


def _audience_sql(audience: Audience, since: float) -> tuple[str, dict[str, Any]]:
    # A banned person gets one polite line and nothing else: no broadcast either.
    sql = (
        "SELECT telegram_id FROM users WHERE blocked = 0 AND NOT EXISTS (SELECT 1 FROM "
        "console_people WHERE console_people.telegram_id = users.telegram_id "
        "AND console_people.banned = 1)"
    )
    params: dict[str, Any] = {}
    if audience.segment is Segment.RECENT_BUYERS:
        sql += (
            " AND EXISTS (SELECT 1 FROM orders WHERE orders.owner_id = users.telegram_id"
            " AND orders.placement = 'placed' AND orders.created_at >= :since)"
        )
        params["since"] = since
    elif audience.segment is Segment.WALLET:
        sql += (
            " AND EXISTS (SELECT 1 FROM wallets WHERE wallets.user_id = users.telegram_id"
            " AND wallets.balance > 0)"
        )
    elif audience.segment is Segment.LANGUAGE:
        sql += " AND language = :language"
        params["language"] = audience.language
    return sql, params


class BroadcastRepository:
    """``bot.services.broadcast.BroadcastStore`` on the bot's database (SQLite or PostgreSQL)."""

    def __init__(self, source: Source) -> None:
        self._src = source

    async def count_audience(self, audience: Audience, *, since: float) -> int:
        sql, params = _audience_sql(audience, since)
        async with self._src.read() as tx:
            row = await tx.fetchone(f"SELECT COUNT(*) FROM ({sql}) AS audience", params)
        return int(row[0]) if row else 0

    async def create(
        self, admin_id: int, content: Content, audience: Audience, *, since: float
    ) -> Broadcast:
        sql, params = _audience_sql(audience, since)
        now = time.time()
        async with self._src.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO broadcasts (admin_id, content_json, segment, language, state, "
                "created_at, updated_at) VALUES (:admin, :content, :segment, :language, "
                "'running', :now, :now) RETURNING id",
                {
                    "admin": admin_id,
                    "content": json.dumps(content.as_data()),
                    "segment": audience.segment.value,
                    "language": audience.language,
                    "now": now,
                },
            )
            assert row is not None
            broadcast_id = int(row[0])
            # CAST: PostgreSQL types a parameter in a SELECT list as text otherwise.
            await tx.execute(
                "INSERT INTO broadcast_recipients (broadcast_id, chat_id, updated_at) "
                "SELECT CAST(:broadcast AS BIGINT), telegram_id, CAST(:now AS DOUBLE PRECISION) "
                f"FROM ({sql}) AS audience",
                {**params, "broadcast": broadcast_id, "now": now},
            )
            created = await _get(tx, broadcast_id)
        assert created is not None
        return created

    async def set_progress_message(self, broadcast_id: int, chat_id: int, message_id: int) -> None:
        async with self._src.transaction() as tx:
            await tx.execute(
                "UPDATE broadcasts SET progress_chat_id = :chat, progress_message_id = :message, "
                "updated_at = :now WHERE id = :id",
                {"chat": chat_id, "message": message_id, "now": time.time(), "id": broadcast_id},
            )

    async def get(self, broadcast_id: int) -> Broadcast | None:
        async with self._src.read() as tx:
            return await _get(tx, broadcast_id)

    async def running(self) -> list[Broadcast]:
        async with self._src.read() as tx:
            rows = await tx.fetchall(f"{_BROADCAST} WHERE state = 'running' ORDER BY id")
        return [_broadcast(row) for row in rows]

    async def claim(self, broadcast_id: int, limit: int) -> list[int]:
        """Up to `limit` pending recipients, now claimed by the caller alone: one statement, so
        two runners at once (two instances) never share one. PostgreSQL skips the rows another
        claim holds locked instead of waiting for them and then finding them taken; SQLite has
        one writer at a time anyway. MATERIALIZED: the pick is made once; as a subquery in the
        WHERE, PostgreSQL may run it again per row (a nested loop) and claim far past `limit`."""
        if limit <= 0:
            return []
        async with self._src.transaction() as tx:
            skip_locked = " FOR UPDATE SKIP LOCKED" if tx.dialect.postgres else ""
            rows = await tx.fetchall(
                "WITH picked AS MATERIALIZED (SELECT chat_id FROM broadcast_recipients "
                "WHERE broadcast_id = :broadcast AND state = 'pending' "
                f"ORDER BY chat_id LIMIT :limit{skip_locked}) "
                "UPDATE broadcast_recipients SET state = 'claimed', updated_at = :now "
                "WHERE broadcast_id = :broadcast AND state = 'pending' "
                "AND chat_id IN (SELECT chat_id FROM picked) RETURNING chat_id",
                {"now": time.time(), "broadcast": broadcast_id, "limit": limit},
            )
        return sorted(int(row[0]) for row in rows)

    async def settle(self, broadcast_id: int, chat_id: int, outcome: Outcome) -> bool:
        changed = await self._change(
            "UPDATE broadcast_recipients SET state = :state, updated_at = :now "
            "WHERE broadcast_id = :broadcast AND chat_id = :chat AND state = 'claimed'",
            {"state": outcome.value, "broadcast": broadcast_id, "chat": chat_id},
        )
        return changed == 1

    async def abandon_claims(self, broadcast_id: int) -> int:
        return await self._change(
            "UPDATE broadcast_recipients SET state = 'failed', updated_at = :now "
            "WHERE broadcast_id = :broadcast AND state = 'claimed'",
            {"broadcast": broadcast_id},
        )

    async def progress(self, broadcast_id: int) -> Progress:
        async with self._src.read() as tx:
            rows = await tx.fetchall(
                "SELECT state, COUNT(*) FROM broadcast_recipients "
                "WHERE broadcast_id = :broadcast GROUP BY state",
                {"broadcast": broadcast_id},
            )
        counts = {str(row[0]): int(row[1]) for row in rows}
        return Progress(
            total=sum(counts.values()),
            sent=counts.get("sent", 0),
            blocked=counts.get("blocked", 0),
            failed=counts.get("failed", 0),
        )

    async def finish(self, broadcast_id: int, state: BroadcastState) -> bool:
        changed = await self._change(
            "UPDATE broadcasts SET state = :state, updated_at = :now "
            "WHERE id = :id AND state = 'running'",
            {"state": state.value, "id": broadcast_id},
        )
        return changed == 1

    async def _change(self, statement: str, params: Params) -> int:
        async with self._src.transaction() as tx:
            return await tx.execute(statement, {**params, "now": time.time()})


async def _get(tx: Session, broadcast_id: int) -> Broadcast | None:
    row = await tx.fetchone(f"{_BROADCAST} WHERE id = :id", {"id": broadcast_id})
    return None if row is None else _broadcast(row)


def _broadcast(row: Sequence[Any]) -> Broadcast:
    broadcast_id, admin_id, content_json, state, chat_id, message_id = row
    return Broadcast(
        id=int(broadcast_id),
        admin_id=int(admin_id),
        content=Content.from_data(json.loads(content_json)),
        state=BroadcastState(state),
        progress_chat_id=None if chat_id is None else int(chat_id),
        progress_message_id=None if message_id is None else int(message_id),
    )


BANNED = "SELECT telegram_id FROM console_people WHERE banned = 1"


class PeopleStore:
    """What the console knows of a person beyond the users table: username, ban."""

    def __init__(self, source: Source) -> None:
        self._src = source

    async def remember_username(self, telegram_id: int, username: str | None) -> None:
        await self.remember_usernames({telegram_id: username})

    async def remember_usernames(self, usernames: Mapping[int, str | None]) -> None:
        """Each person's username (lowercased), in one statement."""
        if not usernames:
            return
        now = time.time()
        values, params = many_values(
            "(:id, :name, :now)",
            (
                {"id": telegram_id, "name": username.lower() if username else None, "now": now}
                for telegram_id, username in usernames.items()
            ),
        )
        await self._src.write_statement(
            "INSERT INTO console_people (telegram_id, username, updated_at) "
            f"VALUES {values} ON CONFLICT (telegram_id) DO UPDATE SET "
            "username = excluded.username, updated_at = excluded.updated_at",
            params,
        )

    async def username(self, telegram_id: int) -> str | None:
        async with self._src.read() as tx:
            row = await tx.fetchone(
                "SELECT username FROM console_people WHERE telegram_id = :id", {"id": telegram_id}
            )
        return None if row is None or row[0] is None else str(row[0])

    async def find_username(self, username: str) -> int | None:
        async with self._src.read() as tx:
            row = await tx.fetchone(
                "SELECT telegram_id FROM console_people WHERE username = :username "
                "ORDER BY updated_at DESC LIMIT 1",
                {"username": username.lower()},
            )
        return None if row is None else int(row[0])

    async def set_banned(self, telegram_id: int, banned: bool) -> None:
        await self._put(telegram_id, "banned", int(banned))

    async def banned(self) -> set[int]:
        # The few banned people, by their own index (revision 0008): read in the event loop's
        # thread like a keyed read, not queued behind the writes.
        rows = await self._src.read_statement(BANNED)
        return {int(row[0]) for row in rows}

    async def _put(
        self, telegram_id: int, column: Literal["username", "banned"], value: Any
    ) -> None:
        """One fact about the person; their row is made on first use (the others default)."""
        await self._src.write_statement(
            f"INSERT INTO console_people (telegram_id, {column}, updated_at) "
            "VALUES (:id, :value, :now) ON CONFLICT (telegram_id) DO UPDATE SET "
            f"{column} = excluded.{column}, updated_at = excluded.updated_at",
            {"id": telegram_id, "value": value, "now": time.time()},
        )


class SettingsStore:
    """Console settings every instance reads from the database (maintenance mode)."""

    def __init__(self, source: Source) -> None:
        self._src = source

    async def get(self, name: str) -> str | None:
        rows = await self._src.read_statement(
            "SELECT value FROM console_settings WHERE name = :name", {"name": name}
        )
        return str(rows[0][0]) if rows else None

    async def set(self, name: str, value: str) -> None:
        async with self._src.transaction() as tx:
            await tx.execute(
                "INSERT INTO console_settings (name, value, updated_at) "
                "VALUES (:name, :value, :now) ON CONFLICT (name) DO UPDATE SET "
                "value = excluded.value, updated_at = excluded.updated_at",
                {"name": name, "value": value, "now": time.time()},
            )


class OrderStats:
    def __init__(self, source: Source) -> None:
        self._src = source

    async def placed_since(self, since: float) -> list[tuple[float, Decimal]]:
        """(created_at, price) of orders placed on the panel since ``since`` (price 0 when
        unknown)."""
        async with self._src.read() as tx:
            rows = await tx.fetchall(
                "SELECT created_at, price FROM orders WHERE placement = 'placed' "
                "AND created_at >= :since ORDER BY created_at",
                {"since": since},
            )
        return [(float(row[0]), _price(row[1])) for row in rows]


def _price(value: object) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)
