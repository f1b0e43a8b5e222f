"""The console's tables on SQLite and PostgreSQL: a recipient is claimed once, a crash's claims are
never resent, each segment gets exactly its people; people and settings are remembered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from decimal import Decimal

from bot.broadcasts import Audience, BroadcastState, Content, Outcome, Segment
from bot.services.people import People
from bot.storage import Database, OrderRepository, StorageUnavailable, UserRepository
from bot.storage.console import (
    BANNED,
    BroadcastRepository,
    OrderStats,
    PeopleStore,
    SettingsStore,
)
from tests.intents import write_intent


async def test_claims_are_taken_once_and_a_crash_leaves_them_unsent(database_url: str) -> None:
    async with await Database.open(database_url) as db:
        users = UserRepository(db)
        for chat_id in range(1, 101):
            await users.ensure(chat_id, "en")
        await users.set_blocked(100, True)
        store = BroadcastRepository(db)
        broadcast = await store.create(1, Content("hi"), Audience(Segment.ALL), since=0)
        assert (await store.progress(broadcast.id)).total == 99

        # Two runners at once (a second instance) never share a recipient.
        first, second = await asyncio.gather(
            store.claim(broadcast.id, 60), store.claim(broadcast.id, 60)
        )
        assert len(first) + len(second) == 99 and not set(first) & set(second)
        assert len(first) <= 60 and len(second) <= 60  # never past the limit asked for
        assert await store.claim(broadcast.id, 10) == []

        assert await store.settle(broadcast.id, first[0], Outcome.SENT)
        assert not await store.settle(broadcast.id, first[0], Outcome.FAILED)  # once decided

        # The process stopped with the rest claimed: they may have been sent, so never again.
        assert await store.abandon_claims(broadcast.id) == 98
        progress = await store.progress(broadcast.id)
        assert (progress.sent, progress.failed, progress.left) == (1, 98, 0)

        assert await store.finish(broadcast.id, BroadcastState.CANCELLED)
        assert not await store.finish(broadcast.id, BroadcastState.FINISHED)
        assert await store.running() == []


async def test_each_segment_counts_and_gets_exactly_its_people(database_url: str) -> None:
    async with await Database.open(database_url) as db:
        users, orders = UserRepository(db), OrderRepository(db)
        for chat_id, language in [(1, "en"), (2, "ru"), (3, "ru"), (4, "ja"), (5, "en")]:
            await users.ensure(chat_id, language)
        await users.set_blocked(3, True)  # blocked people are in no segment
        await PeopleStore(db).set_banned(5, True)  # banned people neither
        # 2 bought recently, 4 long ago, 1 only tried (an intent never placed).
        for token, owner, age in [("a", 2, 3600.0), ("b", 4, 90 * 86400.0), ("c", 1, 60.0)]:
            order = await write_intent(orders, token, owner_id=owner, age=age)
            if owner != 1:
                assert await orders.mark_placed(order.id, owner, first_poll_at=0, poll_interval=60)
        since = time.time() - 30 * 86400
        store = BroadcastRepository(db)
        for audience, people in [
            (Audience(Segment.ALL), {1, 2, 4}),
            (Audience(Segment.LANGUAGE, "ru"), {2}),
            (Audience(Segment.RECENT_BUYERS), {2}),
        ]:
            assert await store.count_audience(audience, since=since) == len(people)
            created = await store.create(1, Content("hi"), audience, since=since)
            assert set(await store.claim(created.id, 10)) == people

        placed = await OrderStats(db).placed_since(since)
        assert [price for _at, price in placed] == [Decimal("0.05")]


async def test_people_and_settings_are_remembered(database_url: str) -> None:
    async with await Database.open(database_url) as db:
        people, settings = PeopleStore(db), SettingsStore(db)
        await people.remember_username(7, "Alice")
        await people.set_banned(7, True)
        await people.set_banned(8, True)  # never wrote to the bot: banned all the same
        await people.set_banned(8, False)
        assert await people.find_username("ALICE") == 7
        assert await people.username(7) == "alice"
        assert await people.banned() == {7}
        assert await settings.get("maintenance") is None
        await settings.set("maintenance", "on")
        await settings.set("maintenance", "off")
        assert await settings.get("maintenance") == "off"


async def test_the_ban_list_is_read_by_an_index_of_the_banned_alone(db: Database) -> None:
    # Every instance reads it every few seconds: never a scan of everyone the console met.
    async with db.read() as tx:
        if db.dialect.postgres:
            await tx.execute("SET LOCAL enable_seqscan = off")  # or a tiny table is scanned
            plan = await tx.fetchall("EXPLAIN " + BANNED)
        else:
            plan = await tx.fetchall("EXPLAIN QUERY PLAN " + BANNED)
    assert "console_people_banned" in " ".join(str(row) for row in plan)


async def test_usernames_of_many_newcomers_at_once_are_written_in_few_statements(
    database_url: str,
) -> None:
    async with await Database.open(database_url) as db:
        store = PeopleStore(db)
        batches: list[int] = []
        write = store.remember_usernames

        async def counted(usernames: Mapping[int, str | None]) -> None:
            batches.append(len(usernames))
            await write(usernames)

        store.remember_usernames = counted  # type: ignore[method-assign]
        people = People(store)
        await asyncio.gather(*(people.seen(n, f"Person_{n}") for n in range(1, 301)))
        await people.seen(5, "person_5")  # the same name again: nothing to write
        assert await people.find("@PERSON_300") == 300  # waits for the names not yet written
        assert await people.username(1) == "person_1"
        assert sum(batches) == 300 and len(batches) <= 3
        # Another instance reads the database itself.
        assert await PeopleStore(db).find_username("person_150") == 150


async def test_a_username_that_failed_to_be_written_is_written_at_the_next_update(
    database_url: str,
) -> None:
    async with await Database.open(database_url) as db:
        store = PeopleStore(db)
        write = store.remember_usernames
        failing = True

        async def flaky(usernames: Mapping[int, str | None]) -> None:
            if failing:
                raise StorageUnavailable("locked")
            await write(usernames)

        store.remember_usernames = flaky  # type: ignore[method-assign]
        people = People(store)
        await people.seen(7, "Alice")
        assert await people.find("@alice") is None
        failing = False
        await people.seen(7, "Alice")
        assert await people.find("@alice") == 7
