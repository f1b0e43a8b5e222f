"""The ban list as every update reads it: remembered for a moment, read again once stale, by
one read that the updates arriving together share (on PostgreSQL, counted on the wire)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.services.people import People
from bot.storage import Database
from bot.storage.console import PeopleStore
from bot.storage.users import UserRepository
from tests.conftest import TEST_DATABASE_URL
from tests.databases import database
from tests.storage.wire import Wire, wire_to

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs TEST_DATABASE_URL")


@pytest.fixture
async def wire(tmp_path: Path) -> AsyncIterator[tuple[Wire, str]]:
    async with database(TEST_DATABASE_URL, tmp_path) as url, wire_to(url) as wire:
        yield wire, url


async def test_updates_that_find_the_ban_list_stale_together_share_one_read(
    wire: tuple[Wire, str],
) -> None:
    relay, url = wire
    async with await Database.open(relay.url(url)) as db:
        users = UserRepository(db)
        for person in (1, 2, 3):
            await users.ensure(person, "en")
        people = People(PeopleStore(db), cache_seconds=0)  # stale at every update
        await people.ban(2, True)
        assert await people.is_banned(2)  # the statement prepared, the connection open

        before = relay.round_trips
        answers = await asyncio.gather(*(people.is_banned(p) for p in [1, 2, 3] * 20))
        assert answers == [False, True, False] * 20
        assert relay.round_trips - before == 1  # sixty updates, one read

        await people.ban(2, False)
        assert not await people.is_banned(2)
