"""People: language and whether they blocked the bot."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from bot.storage.rows import UserRow
from bot.storage.session import Session, Source, many_values
from bot.storage.together import Together
from bot.storage.tracked import now_or

_UPSERT = (
    "INSERT INTO users (telegram_id, language, blocked, created_at, updated_at) "
    "VALUES (:id, :language, :blocked, :ts, :ts) ON CONFLICT (telegram_id) "
)

# One newcomer's values; attributed to whoever holds the code, never to themselves.
_NEWCOMER = (
    "(:id, :language, 0, :ts, :ts, (SELECT telegram_id FROM users "
    "WHERE referral_code = :code AND telegram_id <> :id))"
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


class Newcomer(NamedTuple):
    language: str | None
    referral_code: str | None
    now: float


async def create_users(source: Source, people: Mapping[int, Newcomer]) -> dict[int, UserRow]:
    """The rows of `people`, created in one statement and read back with it; a row another
    writer made first (nothing returned) is read after it: users are never deleted."""
    values, params = many_values(
        _NEWCOMER,
        (
            {"id": telegram_id, "language": p.language, "code": p.referral_code, "ts": p.now}
            for telegram_id, p in people.items()
        ),
    )
    rows = await source.write_statement(
        "INSERT INTO users (telegram_id, language, blocked, created_at, updated_at, referred_by) "
        f"VALUES {values} ON CONFLICT (telegram_id) DO NOTHING RETURNING {_COLUMNS}",
        params,
    )
    made = {user.telegram_id: user for user in map(_user, rows)}
    if missing := people.keys() - made.keys():
        made |= await read_users(source, missing)
    return made


async def read_users(source: Source, ids: Iterable[int]) -> dict[int, UserRow]:
    """The rows of those of `ids` who have one, in one statement."""
    rows = await source.read_statement(
        f"SELECT {_COLUMNS} FROM users WHERE {source.dialect.in_ids('telegram_id')}",
        {"ids": source.dialect.ids(ids)},
    )
    return {user.telegram_id: user for user in map(_user, rows)}


class Newcomers:
    """Creates the rows of people met for the first time, those who come while one statement
    is being written together in the next (bot.storage.together): a crowd of newcomers costs
    a few statements, not one each. A person met again before their row is written waits for
    the same row (their first update's language and referral code stand)."""

    BATCH = 200  # people a statement: four parameters each

    def __init__(self, source: Source) -> None:
        self._src = source
        self._together: Together[int, Newcomer, UserRow] = Together(
            self._create, batch=self.BATCH, keep=lambda first, _again: first, name="newcomers"
        )

    async def create(self, telegram_id: int, newcomer: Newcomer) -> UserRow:
        return await self._together.write(telegram_id, newcomer)

    async def settled(self) -> None:
        await self._together.settled()

    async def _create(self, people: Mapping[int, Newcomer]) -> Mapping[int, UserRow]:
        return await create_users(self._src, people)


class PersonReads:
    """On PostgreSQL, the rows of people asked for while one read is on its way are read
    together in the next (bot.storage.together): every update reads its person's row, and a
    crowd of updates was a round trip each, in line for the pool's connections. Each read is
    still sent after it was asked for, so it sees every commit made before. (SQLite reads a
    row in the event loop's thread at once: nothing to share there.)"""

    BATCH = 500

    def __init__(self, source: Source) -> None:
        self._src = source
        self._together: Together[int, None, UserRow | None] = Together(
            self._read, batch=self.BATCH, keep=lambda first, _again: first, name="person reads"
        )

    async def get(self, telegram_id: int) -> UserRow | None:
        return await self._together.write(telegram_id, None)

    async def _read(self, people: Mapping[int, None]) -> dict[int, UserRow | None]:
        found = await read_users(self._src, people)
        return {telegram_id: found.get(telegram_id) for telegram_id in people}


class UserRepository:
    """`newcomers`: first contacts' rows created together; `reads`: rows read together (both
    on the database only, never inside a unit of work)."""

    def __init__(
        self,
        source: Source,
        newcomers: Newcomers | None = None,
        reads: PersonReads | None = None,
    ) -> None:
        self._src = source
        self._newcomers = newcomers
        self._reads = reads

    async def get(self, telegram_id: int) -> UserRow | None:
        if self._reads is not None:
            return await self._reads.get(telegram_id)
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
        newcomer = Newcomer(language, referral_code, now_or(now))
        if self._newcomers is not None:
            return await self._newcomers.create(telegram_id, newcomer)
        return (await create_users(self._src, {telegram_id: newcomer}))[telegram_id]

    async def settled(self) -> None:
        """Every newcomer's row asked for so far is written (or failed to be)."""
        if self._newcomers is not None:
            await self._newcomers.settled()

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
