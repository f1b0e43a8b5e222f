"""People: language and whether they blocked the bot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.storage.rows import UserRow
from bot.storage.session import Session, Source
from bot.storage.tracked import now_or

_UPSERT = (
    "INSERT INTO users (telegram_id, language, blocked, created_at, updated_at) "
    "VALUES (:id, :language, :blocked, :ts, :ts) ON CONFLICT (telegram_id) "
)

_CREATE = (
    "INSERT INTO users (telegram_id, language, blocked, created_at, updated_at, referred_by) "
    "VALUES (:id, :language, 0, :ts, :ts, (SELECT telegram_id FROM users "
    "WHERE referral_code = :code AND telegram_id <> :id)) "
    "ON CONFLICT (telegram_id) DO NOTHING "
)

_COLUMNS = "telegram_id, language, blocked, created_at, updated_at"
_SELECT = f"SELECT {_COLUMNS} FROM users WHERE telegram_id = :id"


def _user(row: Sequence[Any]) -> UserRow:
    telegram_id, language, blocked, created_at, updated_at = row
    return UserRow(telegram_id, language, bool(blocked), created_at, updated_at)


async def ensure_user_row(tx: Session, telegram_id: int, ts: float) -> None:
    """The person's row exists afterwards (panel keys refer to it); an existing one is kept."""
    await tx.execute(
        _UPSERT + "DO NOTHING", {"id": telegram_id, "language": None, "blocked": 0, "ts": ts}
    )


class UserRepository:
    def __init__(self, source: Source) -> None:
        self._src = source

    async def get(self, telegram_id: int) -> UserRow | None:
        rows = await self._src.read_statement(_SELECT, {"id": telegram_id})
        return _user(rows[0]) if rows else None

    async def ensure(
        self,
        telegram_id: int,
        language: str | None,
        *,
        referral_code: str | None = None,
        now: float | None = None,
    ) -> UserRow:
        """The user's row, created with `language` if absent (an existing row is left as is).

        A new row is attributed to the person whose code is `referral_code`, in the statement
        that creates it: a person already known is never attributed (nor re-attributed), an
        unknown code attributes to nobody, and nobody can hold their own code before they exist.
        """
        user = await self.get(telegram_id)
        if user is not None:
            return user
        # Created and read back in one statement; a row another writer made first (nothing
        # returned) is read after it: users are never deleted.
        rows = await self._src.write_statement(
            _CREATE + f"RETURNING {_COLUMNS}",
            {"id": telegram_id, "language": language, "ts": now_or(now), "code": referral_code},
        ) or await self._src.read_statement(_SELECT, {"id": telegram_id})
        return _user(rows[0])

    async def set_language(
        self, telegram_id: int, language: str | None, *, now: float | None = None
    ) -> None:
        await self._src.write_statement(
            _UPSERT + "DO UPDATE SET language = excluded.language, "
            "updated_at = excluded.updated_at",
            {"id": telegram_id, "language": language, "blocked": 0, "ts": now_or(now)},
        )

    async def set_blocked(
        self, telegram_id: int, blocked: bool, *, now: float | None = None
    ) -> None:
        await self._src.write_statement(
            _UPSERT + "DO UPDATE SET blocked = excluded.blocked, updated_at = excluded.updated_at",
            {"id": telegram_id, "language": None, "blocked": int(blocked), "ts": now_or(now)},
        )
