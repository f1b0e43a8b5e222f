import socket
from collections.abc import AsyncIterator, Callable

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.sandbox.fake_telegram import DEFAULT_TOKEN
from tests.fakes.telegram import FakeTelegram


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def make_bot(fake: FakeTelegram) -> AsyncIterator[Callable[..., Bot]]:
    """Real aiogram bots talking to the fake, optionally wrapped in request middlewares."""
    bots: list[Bot] = []

    def create(*middlewares: object) -> Bot:
        bot = fake.create_bot(default=DefaultBotProperties(parse_mode="HTML"))
        for middleware in middlewares:
            bot.session.middleware(middleware)  # type: ignore[arg-type]
        bots.append(bot)
        return bot

    yield create
    for bot in bots:
        await bot.session.close()


@pytest.fixture
def free_port() -> int:
    """A port nothing listens on (until a test starts a server there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def offline_bot(free_port: int) -> AsyncIterator[Bot]:
    """A bot whose API server at ``free_port`` is not (yet) running."""
    api = TelegramAPIServer.from_base(f"http://127.0.0.1:{free_port}")
    bot = Bot(DEFAULT_TOKEN, session=AiohttpSession(api=api))
    yield bot
    await bot.session.close()
