"""The database: a SQLAlchemy async engine over aiosqlite (the embedded default) or asyncpg;
on PostgreSQL, statements run on a pool of asyncpg's own (the engine migrates)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry, PoolProxiedConnection

from bot.storage.errors import StorageError
from bot.storage.migrations import upgrade
from bot.storage.session import Dialect, Params, PostgresStatements, SqliteStatements, translate
from bot.storage.uow import UnitOfWork

if TYPE_CHECKING:
    import asyncpg

SQLITE_BUSY_TIMEOUT_MS = 5000
# As many connections as the engine's pool held at most (5, and 10 more when busy); asyncpg's
# pool opens them as needed and closes those idle for 5 minutes.
POSTGRES_CONNECTIONS = 15
# A stop waits this long for connections still in use to come back, then cuts them.
POSTGRES_CLOSE_SECONDS = 10.0


def sqlite_url(path: str | Path) -> str:
    """The URL of a SQLite file (DATABASE_PATH's short form)."""
    return URL.create("sqlite+aiosqlite", database=str(path)).render_as_string()


def shown_url(url: str) -> str:
    """The URL fit for a message or a log: the password masked."""
    return make_url(url).render_as_string(hide_password=True)


def _url(url: str | Path) -> str:
    # A Path, or a string without a scheme, is a SQLite file.
    return str(url) if "://" in str(url) else sqlite_url(url)


def _engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    if parsed.get_backend_name() == "postgresql":
        return _postgres_engine(parsed)
    raise StorageError(f"unsupported database {parsed.drivername}: use sqlite or postgresql")


def _sqlite_engine(url: URL) -> AsyncEngine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # One connection, as before: SQLite has one writer, so the pool queue is the in-process
    # write lock; other processes wait on busy_timeout.
    engine = create_async_engine(
        url,
        poolclass=AsyncAdaptedQueuePool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=None,
        # Transactions always end in COMMIT or ROLLBACK: no extra rollback on every return.
        pool_reset_on_return=None,
        hide_parameters=True,  # parameters are people's data
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # No implicit transactions from the sqlite3 module: _begin() issues BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS:d}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock first: a transaction that reads then writes can never
        # fail halfway on another process's commit. Reads start deferred and block nobody.
        readonly = conn.get_execution_options().get("readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def _postgres_connect_args(url: URL) -> dict[str, Any]:
    # `?schema=name` puts the bot's tables in that schema (several bots, or tests, share one
    # database); asyncpg itself would refuse the unknown parameter.
    schema = url.query.get("schema")
    if not schema:
        return {}
    if not isinstance(schema, str) or not schema.replace("_", "").isalnum():
        raise StorageError("the schema in DATABASE_URL must be letters, digits and _")
    return {"server_settings": {"search_path": schema}}


def _postgres_engine(url: URL) -> AsyncEngine:
    return create_async_engine(
        url.difference_update_query(["schema"]),
        connect_args=_postgres_connect_args(url),
        pool_pre_ping=True,
        hide_parameters=True,
    )


async def _postgres_pool(engine: AsyncEngine, url: URL) -> asyncpg.Pool:
    """asyncpg's own pool, connecting as the engine does: SQLAlchemy's pool cost a ping (three
    round trips) a checkout and its greenlet hops on every statement."""
    import asyncpg  # here: a SQLite bot never loads it

    _, options = engine.dialect.create_connect_args(engine.url)  # host, port, user, ssl...
    options["statement_cache_size"] = options.pop("prepared_statement_cache_size", 100)
    return await asyncpg.create_pool(
        **options,
        **_postgres_connect_args(url),
        min_size=0,
        max_size=POSTGRES_CONNECTIONS,
        reset=_keep_session,
    )


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Nothing to undo when a connection comes back: the bot sets nothing on a session beyond
    what it connects with, and takes only transaction-scoped locks. (asyncpg's default reset
    is a round trip a release; an open transaction the pool still rolls back itself.)"""


class LoopReader:
    """A second connection to a SQLite file, for reads of a few rows made at once in the
    event loop's own thread (the thread that opened it): a hand-off to aiosqlite's thread costs
    far more than such a read, and waits behind every other statement queued there.

    It never waits: busy_timeout 0, and a read that finds the file busy (a WAL recovery, a
    lock another process holds) answers None, for the caller to read the usual way. In WAL
    mode a reader is otherwise never blocked by writers, and each statement alone sees the
    last commit of every connection, this process's writer's included.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._thread: int | None = None
        self._conn: sqlite3.Connection | None = None

    def fetchall(self, statement: str, params: Params) -> list[Any] | None:
        conn = self._connection()
        if conn is None:
            return None
        try:
            cursor = conn.execute(statement, params)
            try:
                return cursor.fetchall()
            finally:
                cursor.close()
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
                return None
            raise translate(exc) from exc
        except sqlite3.Error as exc:
            raise translate(exc) from exc

    def _connection(self) -> sqlite3.Connection | None:
        if self._conn is None and self._thread is None:
            self._thread = threading.get_ident()
            try:
                conn = sqlite3.connect(self._path, isolation_level=None)
                conn.execute("PRAGMA busy_timeout = 0")
                conn.execute("PRAGMA query_only = ON")  # it only ever reads
            except sqlite3.Error:
                return None  # the thread's connection answers instead
            self._conn = conn
        return self._conn if self._thread == threading.get_ident() else None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _loop_reader(engine: AsyncEngine) -> LoopReader | None:
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.query:
        return None  # PostgreSQL; or a SQLite URL with options the reader would not share
    if not url.database or url.database == ":memory:":
        return None  # another connection would open another database
    return LoopReader(url.database)


class Database:
    """Transactions on the engine (SQLite) or on asyncpg's pool (PostgreSQL). Repositories
    take a Database (a transaction per call) or a UnitOfWork from `transaction()` (all calls in
    one transaction)."""

    def __init__(self, engine: AsyncEngine, pool: asyncpg.Pool | None = None) -> None:
        """`pool`: on PostgreSQL, where the statements run (see _postgres_pool)."""
        self.engine = engine
        self.dialect = Dialect(postgres=engine.dialect.name == "postgresql")
        if self.dialect.postgres and pool is None:
            raise StorageError("a PostgreSQL database needs its asyncpg pool")
        self._pool = pool
        self._reader = _loop_reader(engine)

    @classmethod
    async def open(cls, url: str | Path) -> Database:
        """Connect and bring the schema up to date (under a lock shared by every process).

        A Path (or a plain path string) is a SQLite file. Raises SchemaTooNewError if the
        database was written by a newer bot, StorageUnavailable if it cannot be reached.
        """
        parsed = make_url(_url(url))
        engine = _engine(parsed)
        try:
            await upgrade(engine)
            if engine.dialect.name != "postgresql":
                return cls(engine)
            pool = await _postgres_pool(engine, parsed)
        except BaseException:
            await engine.dispose()
            raise
        # The engine has migrated: its connection would only sit idle beside the pool's.
        await engine.dispose()
        return cls(engine, pool)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        if self._pool is not None:
            # Past the wait, asyncpg cuts the connections still in use.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._pool.close(), POSTGRES_CLOSE_SECONDS)
        await self.engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def transaction(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """`async with db.transaction() as uow`: COMMIT at the end, ROLLBACK on any exception
        (cancellation included)."""
        return self._transaction(readonly=False)

    def read(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A transaction for reading only (SQLite: takes no write lock; PostgreSQL: as any)."""
        return self._transaction(readonly=True)

    async def read_statement(
        self, statement: str, params: Params | None = None
    ) -> Sequence[Sequence[Any]]:
        """One statement that reads a few rows (by key: it may run in the event loop's thread,
        see LoopReader), in a transaction of its own."""
        if self.dialect.postgres:
            return await self._postgres_alone(statement, params or {})
        if self._reader is not None:
            rows = self._reader.fetchall(statement, params or {})
            if rows is not None:
                return rows
        return await self._sqlite_alone(statement, params or {})

    async def write_statement(
        self, statement: str, params: Params | None = None
    ) -> Sequence[Sequence[Any]]:
        """One statement that writes, in a transaction of its own; its rows (RETURNING)."""
        if self.dialect.postgres:
            return await self._postgres_alone(statement, params or {})
        return await self._sqlite_alone(statement, params or {})

    async def _postgres_alone(self, statement: str, params: Params) -> Sequence[Sequence[Any]]:
        # Without BEGIN a statement is a transaction of its own (all of it or nothing): one
        # round trip, where BEGIN, it and COMMIT were three. Cancelled, its outcome is unknown
        # as a cancelled COMMIT's was; asyncpg cancels it on the server before the connection
        # is used again.
        async with self._postgres() as conn:
            try:
                return await PostgresStatements(conn).fetchall(statement, params)
            except Exception as exc:
                raise translate(exc) from exc

    async def _sqlite_alone(self, statement: str, params: Params) -> Sequence[Sequence[Any]]:
        # Without BEGIN (autocommit) a statement is a transaction of its own: one hand-off to
        # the database thread, where BEGIN, it and COMMIT would be three. A statement that
        # writes takes the write lock before it reads anything, as BEGIN IMMEDIATE would.
        pooled = await self._pooled()
        conn: aiosqlite.Connection = pooled.driver_connection
        try:
            return list(await conn.execute_fetchall(statement, params))
        except Exception as exc:
            raise translate(exc) from exc
        finally:
            # Back to the pool even if cancelled: the statement still runs first in the
            # connection's thread, before whatever the next holder queues.
            pooled.close()

    async def _pooled(self) -> PoolProxiedConnection:
        """The pool's one SQLite connection, taken raw (see SqliteStatements)."""
        try:
            return await self.engine.raw_connection()
        except Exception as exc:
            raise translate(exc) from exc

    def _transaction(self, *, readonly: bool) -> AbstractAsyncContextManager[UnitOfWork]:
        if self.dialect.postgres:
            # Read or not, a plain BEGIN (read committed), as the engine ran it: its readonly
            # option only ever meant SQLite's deferred BEGIN.
            return self._postgres_transaction()
        return self._sqlite_transaction(readonly=readonly)

    @asynccontextmanager
    async def _postgres(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection of the pool, given back whatever happens (asyncpg shields the giving
        back: a cancelled statement is cancelled on the server first)."""
        assert self._pool is not None
        try:
            conn = await self._pool.acquire()
        except Exception as exc:
            raise translate(exc) from exc
        try:
            yield conn
        finally:
            await self._pool.release(conn)

    @asynccontextmanager
    async def _postgres_transaction(self) -> AsyncIterator[UnitOfWork]:
        async with (
            self._postgres() as conn,
            _framed(conn.execute, "BEGIN", partial(_rollback_postgres, conn)),
        ):
            yield UnitOfWork(PostgresStatements(conn), self.dialect)

    @asynccontextmanager
    async def _sqlite_transaction(self, *, readonly: bool) -> AsyncIterator[UnitOfWork]:
        pooled = await self._pooled()
        conn: aiosqlite.Connection = pooled.driver_connection
        # IMMEDIATE: see _begin in _sqlite_engine.
        begin = "BEGIN" if readonly else "BEGIN IMMEDIATE"
        try:
            async with _framed(conn.execute, begin, partial(_rollback_sqlite, conn)):
                yield UnitOfWork(SqliteStatements(conn), self.dialect)
        finally:
            pooled.close()  # back to the pool


@asynccontextmanager
async def _framed(
    run: Callable[[str], Awaitable[object]],
    begin: str,
    rollback: Callable[[], Awaitable[None]],
) -> AsyncIterator[None]:
    """`begin`, the block's statements, COMMIT; on any exception, cancellation included, the
    rollback (which knows whether a transaction is open: BEGIN itself may have failed)."""
    try:
        try:
            await run(begin)
        except Exception as exc:
            raise translate(exc) from exc
        yield
        try:
            await run("COMMIT")
        except Exception as exc:
            raise translate(exc) from exc
    except BaseException:
        # Shielded: a cancelled task must still leave no transaction open behind it.
        await asyncio.shield(rollback())
        raise


async def _rollback_sqlite(conn: aiosqlite.Connection) -> None:
    try:
        await conn.execute("ROLLBACK")
    except sqlite3.Error:
        # Some errors (SQLITE_FULL, SQLITE_IOERR...) end the transaction by themselves.
        if conn.in_transaction:
            raise


async def _rollback_postgres(conn: asyncpg.Connection) -> None:
    import asyncpg  # loaded already: `conn` is one of its own

    try:
        open_transaction = conn.is_in_transaction()
    except asyncpg.InterfaceError:
        return  # the connection was lost, and the pool has taken it back
    # A failed COMMIT has ended the transaction already.
    if open_transaction:
        try:
            await conn.execute("ROLLBACK")
        except Exception:
            # The error that ended the transaction is the one to tell; a connection that
            # could not roll back is cut, and the server rolls back what it held.
            conn.terminate()


async def migrate_database(url: str | Path) -> str:
    """Bring the database to the newest schema and return its revision (`python -m bot migrate`).

    Safe while bots run on it: the same lock as at start keeps two migrations apart.
    """
    engine = _engine(_url(url))
    try:
        return await upgrade(engine)
    finally:
        await engine.dispose()
