"""PostgreSQL's own path: statements on asyncpg's connections, counted on the wire, with the
values, errors and cancellations the repositories rely on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from bot.storage import Database, IntegrityViolation, StorageError, StorageUnavailable
from bot.storage.db import POSTGRES_CONNECTIONS
from tests.conftest import TEST_DATABASE_URL
from tests.databases import database
from tests.storage.sql import rows
from tests.storage.wire import Wire, wire_to

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs TEST_DATABASE_URL")


@pytest.fixture
async def pg_url(tmp_path: Path) -> AsyncIterator[str]:
    async with database(TEST_DATABASE_URL, tmp_path) as url:
        yield url


@pytest.fixture
async def wire(pg_url: str) -> AsyncIterator[Wire]:
    async with wire_to(pg_url) as wire:
        yield wire


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[Database]:
    async with await Database.open(pg_url) as db:
        yield db


async def until(condition: str, db: Database) -> None:
    """Until the server's own view of itself answers `condition` (a boolean SELECT): each
    asking is a round trip, in which the others go on."""
    while not (await db.read_statement(condition))[0][0]:
        pass


async def test_a_statement_alone_is_one_round_trip_and_a_transaction_adds_two(
    wire: Wire, pg_url: str
) -> None:
    async with await Database.open(wire.url(pg_url)) as db:
        read = "SELECT state FROM fsm WHERE key = :key"
        await db.write_statement("INSERT INTO fsm (key, state) VALUES (:key, 'a')", {"key": "k"})
        await db.read_statement(read, {"key": "k"})  # prepared once on this connection
        async with db.transaction() as tx:
            await tx.execute(
                "UPDATE fsm SET state = :state WHERE key = :key", {"state": "b", "key": "k"}
            )

        before = wire.round_trips
        assert await db.read_statement(read, {"key": "k"}) == [("b",)]
        assert wire.round_trips - before == 1  # no ping, no BEGIN, no COMMIT
        before = wire.round_trips
        await db.write_statement("INSERT INTO fsm (key, state) VALUES (:key, 'a')", {"key": "l"})
        assert wire.round_trips - before == 1
        before = wire.round_trips
        async with db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE fsm SET state = :state WHERE key = :key", {"state": "c", "key": "k"}
            )
        assert changed == 1
        assert wire.round_trips - before == 3  # BEGIN, the statement, COMMIT
        connections = wire.connections
        for _ in range(20):
            await db.read_statement(read, {"key": "k"})
        assert wire.connections == connections  # kept, not opened again each time


async def test_values_and_parameters_are_as_the_engine_gave_them(pg: Database) -> None:
    statement = (
        "SELECT CAST(:money AS NUMERIC(12, 4)), CAST(:rate AS DOUBLE PRECISION), "
        "CAST(:small AS REAL), CAST(:n AS BIGINT), CAST(:text AS TEXT), CAST(:blob AS BYTEA), "
        "CAST(:flag AS BOOLEAN), CAST(:none AS TEXT), 'a\\:b', :n + '1'::int"
    )
    params = {
        "money": Decimal("12.5"),
        "rate": 0.25,
        "small": 1.5,
        "n": 41,
        "text": "x",
        "blob": b"\x00\x01",
        "flag": True,
        "none": None,
        "unused": "extra names are left alone",
    }
    (row,) = await pg.read_statement(statement, params)
    assert row == (Decimal("12.5000"), 0.25, 1.5, 41, "x", b"\x00\x01", True, None, "a:b", 42)
    assert [type(v) for v in row[:4]] == [Decimal, float, float, int]
    assert str(row[0]) == "12.5000"

    await pg.write_statement("INSERT INTO fsm (key, state) VALUES ('a', '1'), ('b', '2')")
    in_ids = pg.dialect.in_ids("length(key)")
    assert await pg.read_statement(
        f"SELECT key FROM fsm WHERE {in_ids} ORDER BY key", {"ids": pg.dialect.ids([1])}
    ) == [("a",), ("b",)]
    async with pg.transaction() as tx:
        await tx.executemany(
            pg.dialect.by_position(
                "UPDATE fsm SET state = :state WHERE key = :key", ("key", "state")
            ),
            [("a", "x"), ("b", "y")],
        )
        assert await tx.execute("DELETE FROM fsm WHERE key = 'none'") == 0
        assert await tx.fetchall("UPDATE fsm SET data = 'd'") == []  # no RETURNING, no rows
    assert await rows(pg, "SELECT key, state FROM fsm ORDER BY key") == [("a", "x"), ("b", "y")]


async def test_errors_are_the_storages_own(pg: Database) -> None:
    await pg.write_statement("INSERT INTO fsm (key) VALUES ('a')")
    with pytest.raises(IntegrityViolation):
        await pg.write_statement("INSERT INTO fsm (key) VALUES ('a')")
    for wrong in ("SELEC 1", "SELECT no_such_column FROM fsm"):
        with pytest.raises(StorageError) as raised:
            await pg.read_statement(wrong)
        assert not isinstance(raised.value, StorageUnavailable)  # trying again will not help
    with pytest.raises(StorageError):
        await pg.read_statement("SELECT :missing::text", {})
    with pytest.raises(StorageError):
        await pg.read_statement("SELECT CAST(:n AS BIGINT)", {"n": "not a number"})
    assert await pg.read_statement("SELECT key FROM fsm") == [("a",)]


async def test_a_connection_the_server_drops_is_unavailable_and_the_next_is_new(
    pg: Database,
) -> None:
    with pytest.raises(StorageUnavailable):
        async with pg.transaction() as tx:
            await tx.execute("INSERT INTO fsm (key) VALUES ('lost')")
            ((pid,),) = await tx.fetchall("SELECT pg_backend_pid()")
            # From another connection, waiting until that one is gone (a server restart).
            await pg.read_statement("SELECT pg_terminate_backend(:pid, 10000)", {"pid": pid})
            await tx.fetchall("SELECT 1")
    # Dropped while idle in the pool: the next statement is not the one to find out.
    async with pg.transaction() as tx:
        ((idle,),) = await pg.read_statement("SELECT pg_backend_pid()")  # another connection
        await tx.fetchall("SELECT pg_terminate_backend(:pid, 10000)", {"pid": idle})
    async with pg.transaction() as one, pg.transaction() as other:  # both connections
        assert await one.fetchall("SELECT key FROM fsm") == []
        assert await other.fetchall("SELECT key FROM fsm") == []


async def test_a_write_alone_cut_off_while_it_waits_is_called_off_on_the_server(
    pg: Database,
) -> None:
    await pg.write_statement("INSERT INTO fsm (key, state) VALUES ('a', 'before')")
    async with pg.transaction() as holder:
        await holder.execute("UPDATE fsm SET state = 'held' WHERE key = 'a'")  # its row lock
        cut = asyncio.create_task(
            pg.write_statement("UPDATE fsm SET state = 'cut off' WHERE key = 'a'")
        )
        await until(
            "SELECT count(*) = 1 FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND query LIKE '%cut off%'",
            pg,
        )
        cut.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cut
        await until(
            "SELECT count(*) = 0 FROM pg_stat_activity "
            "WHERE state = 'active' AND query LIKE '%cut off%' AND pid <> pg_backend_pid()",
            pg,
        )
        await holder.execute("UPDATE fsm SET state = 'after' WHERE key = 'a'")
    assert await pg.read_statement("SELECT state FROM fsm") == [("after",)]
    # Every connection came back usable, none in a transaction.
    assert (
        await pg.read_statement(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE state LIKE 'idle in transaction%' AND datname = current_database() "
            "AND query LIKE '%fsm%'"
        )
    ) == [(0,)]


async def test_many_at_once_share_the_pools_connections(pg: Database) -> None:
    started = asyncio.Event()
    inside = 0

    async def one(n: int) -> None:
        nonlocal inside
        async with pg.transaction() as tx:
            inside += 1
            if inside == POSTGRES_CONNECTIONS:
                started.set()
            await started.wait()  # all the pool's connections in use at once
            await tx.execute("INSERT INTO fsm (key) VALUES (:key)", {"key": f"k{n}"})

    await asyncio.gather(*(one(n) for n in range(POSTGRES_CONNECTIONS * 3)))
    assert await pg.read_statement("SELECT count(*) FROM fsm") == [(POSTGRES_CONNECTIONS * 3,)]
