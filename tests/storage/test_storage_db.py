import asyncio
from pathlib import Path

import pytest

from bot.storage import Database


async def test_open_creates_folder_and_sets_pragmas(db_path: Path) -> None:
    assert not await asyncio.to_thread(db_path.parent.exists)
    async with await Database.open(db_path) as db:
        assert await asyncio.to_thread(db_path.exists)
        journal = await db.fetchone("PRAGMA journal_mode")
        foreign_keys = await db.fetchone("PRAGMA foreign_keys")
        busy = await db.fetchone("PRAGMA busy_timeout")
        assert journal is not None and journal[0] == "wal"
        assert foreign_keys is not None and foreign_keys[0] == 1
        assert busy is not None and busy[0] == 5000


async def test_context_manager_closes_connection(db_path: Path) -> None:
    async with await Database.open(db_path) as db:
        pass
    with pytest.raises(ValueError):
        await db.fetchone("SELECT 1")


async def test_transaction_commits(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO fsm (key, state) VALUES ('a', 's')")
        await tx.execute("INSERT INTO fsm (key, state) VALUES ('b', 's')")
    row = await db.fetchone("SELECT count(*) FROM fsm")
    assert row is not None and row[0] == 2


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO fsm (key, state) VALUES ('a', 's')")
            raise RuntimeError("boom")
    assert await db.fetchall("SELECT * FROM fsm") == []
    assert not db.conn.in_transaction


async def test_failed_statement_rolls_back_whole_transaction(db: Database) -> None:
    with pytest.raises(Exception, match="UNIQUE"):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO fsm (key, state) VALUES ('a', 's')")
            await tx.execute("INSERT INTO fsm (key, state) VALUES ('a', 's')")
    assert await db.fetchall("SELECT * FROM fsm") == []


async def test_concurrent_transactions_do_not_interleave(db: Database) -> None:
    events: list[str] = []
    inside = asyncio.Event()

    async def first() -> None:
        async with db.transaction() as tx:
            events.append("first in")
            inside.set()
            for i in range(5):  # each statement yields to the event loop
                await tx.execute("INSERT INTO fsm (key) VALUES (?)", (f"first{i}",))
            events.append("first out")

    async def second() -> None:
        await inside.wait()
        async with db.transaction() as tx:
            events.append("second in")
            await tx.execute("INSERT INTO fsm (key) VALUES ('second')")

    await asyncio.gather(first(), second())
    assert events == ["first in", "first out", "second in"]


async def test_plain_statement_does_not_join_another_tasks_transaction(db: Database) -> None:
    inside = asyncio.Event()

    async def failing_transaction() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO fsm (key) VALUES ('rolled back')")
            inside.set()
            for _ in range(5):
                await tx.fetchone("SELECT 1")
            raise RuntimeError("boom")

    async def writer() -> None:
        await inside.wait()
        await db.execute("INSERT INTO fsm (key) VALUES ('kept')")

    results = await asyncio.gather(failing_transaction(), writer(), return_exceptions=True)
    assert isinstance(results[0], RuntimeError)
    rows = await db.fetchall("SELECT key FROM fsm")
    assert [row["key"] for row in rows] == ["kept"]


async def test_cancelled_transaction_rolls_back_and_releases(db: Database) -> None:
    inside = asyncio.Event()
    never = asyncio.Event()

    async def stuck() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO fsm (key) VALUES ('x')")
            inside.set()
            await never.wait()

    task = asyncio.create_task(stuck())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await db.fetchall("SELECT * FROM fsm") == []
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO fsm (key) VALUES ('y')")
    assert len(await db.fetchall("SELECT * FROM fsm")) == 1
