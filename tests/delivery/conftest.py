from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties

from bot.services.delivery import OutboundQueue
from bot.telegram.sender import make_bot_sender
from tests.fakes.telegram import FakeTelegram


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    bot = fake.create_bot(default=DefaultBotProperties(parse_mode="HTML"))
    yield bot
    await bot.session.close()


@pytest.fixture
async def make_queue(bot: Bot) -> AsyncIterator[Callable[..., Awaitable[OutboundQueue]]]:
    """Started queues sending through the real bot; stopped (without draining) at teardown."""
    queues: list[OutboundQueue] = []

    async def create(**options: Any) -> OutboundQueue:
        options.setdefault("send", make_bot_sender(bot))
        queue = OutboundQueue(**options)
        queues.append(queue)
        await queue.start()
        return queue

    yield create
    for queue in queues:
        await queue.stop(drain=False)
