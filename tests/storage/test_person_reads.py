"""People's rows on PostgreSQL: every update reads its person's, and those asked for while a
read is on its way share the next (counted on the wire), each seeing every commit before it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import Database, StorageError
from bot.storage.users import Newcomers, PersonReads, UserRepository
from tests.conftest import TEST_DATABASE_URL
from tests.databases import database
from tests.storage.wire import Wire, wire_to

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs TEST_DATABASE_URL")


@pytest.fixture
async def wired(tmp_path: Path) -> AsyncIterator[tuple[Wire, Database]]:
    async with (
        database(TEST_DATABASE_URL, tmp_path) as url,
        wire_to(url) as wire,
        await Database.open(wire.url(url)) as db,
    ):
        yield wire, db


async def test_a_crowd_of_updates_reads_its_peoples_rows_in_one_round_trip(
    wired: tuple[Wire, Database],
) -> None:
    wire, db = wired
    users = UserRepository(db, Newcomers(db), PersonReads(db))
    for person in range(1, 61):
        await users.ensure(person, "ru" if person % 2 else "ja")
    assert (await users.get(1)) is not None  # the statement prepared, the connection open

    before = wire.round_trips
    people = [*range(1, 61), 1, 2, 999]  # the same person twice, and a stranger
    rows = await asyncio.gather(*(users.get(person) for person in people))
    assert wire.round_trips - before == 1
    assert [row.telegram_id if row else None for row in rows] == [*range(1, 61), 1, 2, None]
    assert [row.language for row in rows[:4] if row] == ["ru", "ja", "ru", "ja"]


async def test_a_read_asked_after_a_commit_sees_it(wired: tuple[Wire, Database]) -> None:
    _wire, db = wired
    users = UserRepository(db, Newcomers(db), PersonReads(db))
    await users.ensure(7, "en")
    # A read asked before the change, perhaps still on its way when it commits: the one asked
    # after the commit is sent after it, never joined to the earlier.
    before = asyncio.ensure_future(users.get(7))
    await users.set_language(7, "ja")
    after = await users.get(7)
    assert after is not None and after.language == "ja"
    assert (await before) is not None


async def test_a_failed_read_fails_each_caller(wired: tuple[Wire, Database]) -> None:
    _wire, db = wired
    users = UserRepository(db, Newcomers(db), PersonReads(db))
    await users.ensure(7, "en")
    await db.write_statement("ALTER TABLE users RENAME COLUMN language TO lang")
    results = await asyncio.gather(users.get(7), users.get(8), return_exceptions=True)
    assert all(isinstance(result, StorageError) for result in results), results
