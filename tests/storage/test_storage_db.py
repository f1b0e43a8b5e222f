import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.storage import Database, IntegrityViolation, StorageUnavailable
from bot.storage.db import LoopReader
from tests.storage.sql import rows, run


async def test_sqlite_open_creates_folder_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "data" / "bot.sqlite3"
    async with await Database.open(path) as db:
        assert await asyncio.to_thread(path.exists)
        assert await rows(db, "PRAGMA journal_mode") == [("wal",)]
        assert await rows(db, "PRAGMA foreign_keys") == [(1,)]
        assert await rows(db, "PRAGMA busy_timeout") == [(5000,)]


def test_a_sqlite_bot_never_loads_the_postgresql_driver(tmp_path: Path) -> None:
    # asyncpg costs 0.1 s and several MB at every start.
    script = (
        "import asyncio, sys\n"
        "import bot.app\n"
        "from bot.storage import Database\n"
        "async def main():\n"
        f"    async with await Database.open({str(tmp_path / 'bot.sqlite3')!r}) as db:\n"
        "        await db.write_statement(\"INSERT INTO fsm (key, state) VALUES ('a', 's')\")\n"
        "        await db.read_statement('SELECT state FROM fsm')\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'asyncpg'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]", done.stdout


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


async def test_a_statement_alone_waits_for_an_open_transaction_and_stays_apart(
    db: Database,
) -> None:
    """On SQLite the one connection is shared: a statement alone must not slip into a
    transaction that another task holds open (and be rolled back with it)."""
    inside = asyncio.Event()
    alone: asyncio.Task[object] | None = None

    async def failing() -> None:
        nonlocal alone
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO fsm (key) VALUES ('rolled back')")
            alone = asyncio.create_task(
                db.write_statement("INSERT INTO fsm (key) VALUES ('alone')")
            )
            inside.set()
            await asyncio.sleep(0)  # the statement alone gets its chance to run
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await failing()
    assert inside.is_set() and alone is not None
    await alone
    assert await rows(db, "SELECT key FROM fsm") == [("alone",)]


async def test_a_read_alone_sees_every_commit_and_nothing_uncommitted(db: Database) -> None:
    await db.write_statement("INSERT INTO fsm (key, state) VALUES ('a', 'one')")
    assert await db.read_statement("SELECT state FROM fsm WHERE key = :key", {"key": "a"}) == [
        ("one",)
    ]
    async with db.transaction() as tx:
        await tx.execute("UPDATE fsm SET state = 'two' WHERE key = 'a'")
        # Not committed yet: the read answers what the database held before.
        assert await db.read_statement("SELECT state FROM fsm") == [("one",)]
    assert await db.read_statement("SELECT state FROM fsm") == [("two",)]


async def test_a_broken_constraint_alone_is_a_storage_error_and_leaves_no_transaction(
    db: Database,
) -> None:
    await db.write_statement("INSERT INTO fsm (key) VALUES ('a')")
    with pytest.raises(IntegrityViolation):
        await db.write_statement("INSERT INTO fsm (key) VALUES ('a')")
    # The connection is usable at once: no transaction was left open on it.
    assert await db.write_statement("INSERT INTO fsm (key) VALUES ('b') RETURNING key") == [("b",)]
    assert await rows(db, "SELECT key FROM fsm ORDER BY key") == [("a",), ("b",)]


async def test_the_loop_reader_never_waits_for_a_lock(tmp_path: Path) -> None:
    """A file another connection holds exclusively: the loop's reader answers None at once
    (the caller then reads through the database thread, which may wait)."""
    path = tmp_path / "bot.sqlite3"
    async with await Database.open(path):
        pass
    holder = sqlite3.connect(path, isolation_level=None)
    reader = LoopReader(str(path))
    try:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("INSERT INTO fsm (key) VALUES ('a')")
        assert reader.fetchall("SELECT key FROM fsm", {}) is None
        holder.execute("COMMIT")
        holder.execute("PRAGMA locking_mode = NORMAL")
        holder.execute("SELECT 1").fetchall()  # the exclusive lock is let go at the next use
        holder.close()
        assert reader.fetchall("SELECT key FROM fsm", {}) == [("a",)]
    finally:
        reader.close()
