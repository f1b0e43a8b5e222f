from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties

from bot.services.delivery import OutboundQueue
from bot.telegram.limiter import SendLimiter
from bot.telegram.retry import FloodControlMiddleware
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
async def make_queue(
    fake: FakeTelegram,
) -> AsyncIterator[Callable[..., Awaitable[OutboundQueue]]]:
    """Started queues sending through a real bot whose limiter keeps ``per_second`` overall and
    ``per_chat_interval`` per chat, as the app wires it; stopped (without draining) at teardown."""
    queues: list[OutboundQueue] = []
    bots: list[Bot] = []

    async def create(
        *, per_second: float = 30.0, per_chat_interval: float = 1.0, **options: Any
    ) -> OutboundQueue:
        bot = fake.create_bot(default=DefaultBotProperties(parse_mode="HTML"))
        bot.session.middleware(FloodControlMiddleware(SendLimiter(per_second, per_chat_interval)))
        bots.append(bot)
        options.setdefault("send", make_bot_sender(bot))
        queue = OutboundQueue(**options)
        queues.append(queue)
        await queue.start()
        return queue

    yield create
    for queue in queues:
        await queue.stop(drain=False)
    for bot in bots:
        await bot.session.close()
