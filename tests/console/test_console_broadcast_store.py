"""The broadcast tables: a recipient is claimed once, and a crash's claims are never resent."""

from __future__ import annotations

import asyncio

from bot.broadcasts import Audience, BroadcastState, Content, Outcome, Segment
from bot.storage import Database, UserRepository
from bot.storage.console import BroadcastRepository


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
