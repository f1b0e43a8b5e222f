import asyncio
from pathlib import Path

import pytest

from bot.storage import Database, IntegrityViolation, StorageUnavailable
from tests.storage.sql import rows, run


async def test_sqlite_open_creates_folder_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "data" / "bot.sqlite3"
    async with await Database.open(path) as db:
        assert await asyncio.to_thread(path.exists)
        assert await rows(db, "PRAGMA journal_mode") == [("wal",)]
        assert await rows(db, "PRAGMA foreign_keys") == [(1,)]
        assert await rows(db, "PRAGMA busy_timeout") == [(5000,)]


async def test_transaction_commits(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO fsm (key, state) VALUES ('a', 's')")
        await tx.execute("INSERT INTO fsm (key, state) VALUES ('b', 's')")
    assert await rows(db, "SELECT count(*) FROM fsm") == [(2,)]


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO fsm (key, state) VALUES ('a', 's')")
            raise RuntimeError("boom")
    assert await rows(db, "SELECT * FROM fsm") == []


async def test_a_broken_constraint_is_a_storage_error_and_rolls_back_everything(
    db: Database,
) -> None:
    with pytest.raises(IntegrityViolation):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO fsm (key, state) VALUES ('a', 's')")
            await tx.execute("INSERT INTO fsm (key, state) VALUES ('a', 's')")
    assert await rows(db, "SELECT * FROM fsm") == []


async def test_concurrent_transactions_keep_every_write(db: Database) -> None:
    inside = asyncio.Event()

    async def first() -> None:
        async with db.transaction() as tx:
            inside.set()
            for i in range(5):  # each statement yields to the event loop
                await tx.execute("INSERT INTO fsm (key) VALUES (:key)", {"key": f"first{i}"})

    async def second() -> None:
        await inside.wait()
        await run(db, "INSERT INTO fsm (key) VALUES ('second')")

    await asyncio.gather(first(), second())
    assert await rows(db, "SELECT count(*) FROM fsm") == [(6,)]


async def test_a_statement_outside_does_not_join_another_tasks_transaction(db: Database) -> None:
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
        await run(db, "INSERT INTO fsm (key) VALUES ('kept')")

    results = await asyncio.gather(failing_transaction(), writer(), return_exceptions=True)
    assert isinstance(results[0], RuntimeError)
    assert await rows(db, "SELECT key FROM fsm") == [("kept",)]


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
    assert await rows(db, "SELECT * FROM fsm") == []
    await run(db, "INSERT INTO fsm (key) VALUES ('y')")
    assert await rows(db, "SELECT key FROM fsm") == [("y",)]


async def test_a_unit_of_work_spans_repositories_and_commits_together(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as uow:
            await uow.users.set_language(1, "en", now=1.0)
            await uow.leases.acquire("worker", "a", 10.0, 1.0)
            raise RuntimeError("the shop's second step failed")
    assert await rows(db, "SELECT * FROM users") == []
    assert await rows(db, "SELECT * FROM leases") == []
    async with db.transaction() as uow:
        await uow.users.set_language(1, "en", now=1.0)
        await uow.leases.acquire("worker", "a", 10.0, 1.0)
        # Reads inside see the transaction's own writes.
        user = await uow.users.get(1)
        assert user is not None and user.language == "en"
    assert await rows(db, "SELECT telegram_id FROM users") == [(1,)]
    assert await rows(db, "SELECT holder FROM leases") == [("a",)]


async def test_an_unreachable_server_is_storage_unavailable() -> None:
    # Nothing listens on port 9: the refusal must arrive as the storage's own error.
    with pytest.raises(StorageUnavailable):
        await Database.open("postgresql+asyncpg://nobody@127.0.0.1:9/none")


async def test_an_unwritable_sqlite_folder_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OSError):
        await Database.open(blocker / "bot.sqlite3")
