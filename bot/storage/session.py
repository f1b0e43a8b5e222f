"""Statements on one connection inside one transaction, and what differs between dialects."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

import aiosqlite
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from bot.storage.errors import IntegrityViolation, StorageError, StorageUnavailable

if TYPE_CHECKING:
    import asyncpg
    from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

Params = Mapping[str, Any]
# A statement's values for each of many runs, by position (see Dialect.by_position).
Rows = Sequence[Sequence[Any]]


@dataclass(frozen=True, slots=True)
class Dialect:
    """The few SQL spellings SQLite and PostgreSQL do not share."""

    postgres: bool

    @property
    def distinct(self) -> str:
        # SQLite's planner matches the partial indexes only on the spelling they were made with.
        return "IS DISTINCT FROM" if self.postgres else "IS NOT"

    @property
    def no_limit(self) -> int | None:
        return None if self.postgres else -1  # LIMIT NULL / LIMIT -1: no limit

    @property
    def no_index(self) -> str:
        # SQLite: a unary plus keeps the planner off an index on that column.
        return "" if self.postgres else "+"

    def in_ids(self, column: str) -> str:
        """`column` is one of the ids bound as :ids (see `ids`): any number in one parameter."""
        if self.postgres:
            return f"{column} = ANY(:ids)"
        return f"{column} IN (SELECT value FROM json_each(:ids))"

    def ids(self, ids: Iterable[int]) -> object:
        values = [int(i) for i in ids]
        return values if self.postgres else json.dumps(values)

    def limit(self, limit: int | None) -> int | None:
        return self.no_limit if limit is None else limit

    def by_position(self, statement: str, names: Sequence[str]) -> str:
        """`statement`, its :name parameters taken from each row of values in `names` order
        (?N on SQLite, $N on PostgreSQL; run it with `executemany`): binding by name looks
        every name up in a dict, a sixth of storing 100,000 answers on SQLite."""
        index = {name: number for number, name in enumerate(names, 1)}
        mark = "$" if self.postgres else "?"
        return re.sub(r":(\w+)", lambda match: f"{mark}{index[match[1]]}", statement)


def many_values(template: str, rows: Iterable[Mapping[str, Any]]) -> tuple[str, dict[str, Any]]:
    """Many rows in one statement's VALUES: `template` ("(:id, :name)") once for each row, its
    :names numbered apart (:id0, :name0, :id1...), and the parameters of them all."""
    numbered_template, names = _numbering(template)
    values, params = [], {}
    for i, row in enumerate(rows):
        values.append(numbered_template.format(i=i))
        params.update({f"{name}{i}": row[name] for name in names})
    return ", ".join(values), params


@lru_cache(maxsize=64)
def _numbering(template: str) -> tuple[str, tuple[str, ...]]:
    # Once per template: they are the repositories' constants, written at every update.
    return re.sub(r":(\w+)", r":\1{i}", template), tuple(re.findall(r":(\w+)", template))


# Locked beyond busy_timeout, disk full, I/O errors, the file cannot be opened: not the
# statement's fault, and another try later may succeed.
_SQLITE_UNAVAILABLE = re.compile(r"SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|READONLY)")


@lru_cache(maxsize=1)
def _asyncpg_dialect() -> PGDialect_asyncpg:
    # Imported at the first PostgreSQL statement: a SQLite bot never loads asyncpg (0.1 s and
    # several MB at start).
    from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

    return PGDialect_asyncpg()


@lru_cache(maxsize=512)
def numbered(statement: str) -> tuple[str, tuple[str, ...]]:
    """`statement` as asyncpg takes it, $1, $2... for the :names, and the names in that order:
    compiled by the engine's own dialect (so `\\:` escapes and `::` casts read as they always
    did), once per text: the repositories' statements are constants per dialect."""
    compiled = text(statement).compile(dialect=_asyncpg_dialect())
    return compiled.string, tuple(compiled.positiontup or ())


def translate(exc: BaseException) -> BaseException:
    """The storage error for a driver or SQLAlchemy error; anything else unchanged."""
    if type(exc).__module__.startswith("asyncpg"):
        return _translate_asyncpg(exc)
    if isinstance(exc, sa_exc.IntegrityError | sqlite3.IntegrityError):
        return IntegrityViolation(str(getattr(exc, "orig", exc)))
    if isinstance(exc, sqlite3.Error) and _SQLITE_UNAVAILABLE.match(
        getattr(exc, "sqlite_errorname", "")
    ):
        return StorageUnavailable(str(exc))
    if isinstance(exc, sqlite3.Error):
        return StorageError(str(exc))
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return StorageUnavailable(str(getattr(exc, "orig", exc)))
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return StorageUnavailable(str(exc.orig))
    if isinstance(exc, sa_exc.SQLAlchemyError):
        return StorageError(str(getattr(exc, "orig", None) or exc))
    if isinstance(exc, ConnectionError | TimeoutError):
        # OS errors while connecting, outside SQLAlchemy's wrapping.
        return StorageUnavailable(str(exc) or type(exc).__name__)
    return exc


def _translate_asyncpg(exc: BaseException) -> BaseException:
    import asyncpg  # loaded already: the error is one of its own

    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return IntegrityViolation(str(exc))
    # The connection is gone (lost, or the server shutting down or not up yet): SQLAlchemy
    # marked those connections invalidated, which made them StorageUnavailable.
    gone = (
        asyncpg.PostgresConnectionError,
        asyncpg.AdminShutdownError,
        asyncpg.CrashShutdownError,
        asyncpg.CannotConnectNowError,
    )
    if isinstance(exc, asyncpg.PostgresError) and not isinstance(exc, gone):
        return StorageError(str(exc))  # the statement's fault, as SQLAlchemy's DBAPIError was
    # Those, and asyncpg's own errors outside the server's (an interface error, a connection
    # that could not be made).
    return StorageUnavailable(str(exc) or type(exc).__name__)


class Statements(Protocol):
    """Runs statements on one connection; raises driver or SQLAlchemy errors as they come."""

    async def fetchall(self, statement: str, params: Params) -> Sequence[Sequence[Any]]: ...

    async def execute(self, statement: str, params: Params) -> int: ...

    async def executemany(self, statement: str, rows: Rows) -> None:
        """`statement` made by Dialect.by_position, once for each row of values."""
        ...


class PostgresStatements:
    """Straight on asyncpg's connection: its statement cache prepares each text once per
    connection, and a statement is one round trip, without SQLAlchemy's greenlet hops and
    result wrapping. Rows come as tuples of asyncpg's values, as SQLAlchemy passed them on for
    text statements (numeric as Decimal, double precision as float)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def fetchall(self, statement: str, params: Params) -> Sequence[Sequence[Any]]:
        query, names = numbered(statement)
        # A write without RETURNING has no rows (sqlite3 answers an empty list for it).
        return [tuple(row) for row in await self._conn.fetch(query, *_args(names, params))]

    async def execute(self, statement: str, params: Params) -> int:
        query, names = numbered(statement)
        # Its status, "UPDATE 3" or "INSERT 0 3": the rows changed come last.
        status: str = await self._conn.execute(query, *_args(names, params))
        count = status.rsplit(" ", 1)[-1]
        return int(count) if count.isdigit() else -1

    async def executemany(self, statement: str, rows: Rows) -> None:
        await self._conn.executemany(statement, rows)  # by position (Dialect.by_position)


def _args(names: tuple[str, ...], params: Params) -> list[Any]:
    try:
        return [params[name] for name in names]
    except KeyError as exc:
        raise StorageError(f"no value for the statement's :{exc.args[0]}") from None


class SqliteStatements:
    """Straight on aiosqlite's connection (sqlite3 binds :name itself): one thread hop per
    statement where SQLAlchemy's adapter takes four, which the tracker's thousands of batch
    statements a cycle would feel."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetchall(self, statement: str, params: Params) -> Sequence[Sequence[Any]]:
        return list(await self._conn.execute_fetchall(statement, params))

    async def execute(self, statement: str, params: Params) -> int:
        async with self._conn.execute(statement, params) as cursor:
            return cursor.rowcount

    async def executemany(self, statement: str, rows: Rows) -> None:
        async with self._conn.executemany(statement, rows):
            pass


class Session:
    """Statement helpers bound to one connection that is inside a transaction."""

    def __init__(self, statements: Statements, dialect: Dialect) -> None:
        self._statements = statements
        self.dialect = dialect

    def transaction(self) -> AbstractAsyncContextManager[Session]:
        """Already inside one: repositories bound to a session join its transaction."""
        return self._joined()

    def read(self) -> AbstractAsyncContextManager[Session]:
        return self._joined()

    @asynccontextmanager
    async def _joined(self) -> AsyncIterator[Session]:
        yield self

    async def fetchone(self, statement: str, params: Params | None = None) -> Sequence[Any] | None:
        rows = await self.fetchall(statement, params)
        return rows[0] if rows else None

    async def fetchall(
        self, statement: str, params: Params | None = None
    ) -> Sequence[Sequence[Any]]:
        try:
            return await self._statements.fetchall(statement, params or {})
        except Exception as exc:
            raise translate(exc) from exc

    async def execute(self, statement: str, params: Params | None = None) -> int:
        """Run one statement; return the number of rows it changed."""
        try:
            return await self._statements.execute(statement, params or {})
        except Exception as exc:
            raise translate(exc) from exc

    async def executemany(self, statement: str, rows: Rows) -> None:
        try:
            await self._statements.executemany(statement, rows)
        except Exception as exc:
            raise translate(exc) from exc

    async def read_statement(
        self, statement: str, params: Params | None = None
    ) -> Sequence[Sequence[Any]]:
        """Inside a transaction already: one more statement of it (see Source)."""
        return await self.fetchall(statement, params)

    async def write_statement(
        self, statement: str, params: Params | None = None
    ) -> Sequence[Sequence[Any]]:
        return await self.fetchall(statement, params)


class Source(Protocol):
    """What repositories run on: the database (a transaction per call) or a unit of work."""

    dialect: Dialect

    def transaction(self) -> AbstractAsyncContextManager[Session]: ...

    def read(self) -> AbstractAsyncContextManager[Session]: ...

    async def read_statement(
        self, statement: str, params: Params | None = None
    ) -> Sequence[Sequence[Any]]:
        """The rows of one statement that only reads, as `read()` would run it alone
        (the database may run it faster: see Database.read_statement)."""
        ...

    async def write_statement(
        self, statement: str, params: Params | None = None
    ) -> Sequence[Sequence[Any]]:
        """One statement that writes, as `transaction()` would run it alone; its rows
        (RETURNING) come back, its row count does not."""
        ...
