from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import pytest
from aiogram.client.default import DefaultBotProperties
from aiohttp import web
from cryptography.fernet import Fernet

from bot.i18n import build_i18n
from bot.panel.client import PanelClient
from bot.sandbox.simulator import PanelSimulator
from bot.storage import (
    Database,
    KeyRepository,
    OrderRepository,
    RefillRepository,
    SecretBox,
    UserRepository,
)
from bot.telegram.limiter import SendLimiter
from bot.telegram.retry import FloodControlMiddleware
from tests.fakes.telegram import FakeTelegram
from tests.tracking.world import OTHER_KEY, SHARED_KEY, Clock, World

# A catalogue for one language, so that the tests do not depend on the project's catalogues.
GERMAN_PO = """\
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"

msgid "Status: {status}"
msgstr "Zustand: {status}"

msgid "Order #{id}"
msgstr "Auftrag #{id}"

msgid "In progress"
msgstr "In Bearbeitung"
"""


@pytest.fixture
def locales(tmp_path: Path) -> Path:
    folder = tmp_path / "locales" / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "messages.po").write_text(GERMAN_PO, encoding="utf-8")
    return tmp_path / "locales"


@pytest.fixture
async def sim_with_keys() -> AsyncIterator[tuple[PanelSimulator, list[tuple[str, str]]]]:
    """The simulator, plus the (action, key) of every request it receives."""
    simulator = PanelSimulator(keys={SHARED_KEY: Decimal(1000), OTHER_KEY: Decimal(1000)})
    seen: list[tuple[str, str]] = []

    @web.middleware
    async def record_key(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        form = await request.post()  # cached: the simulator reads the same form afterwards
        seen.append((str(form.get("action", "")), str(form.get("key", ""))))
        return await handler(request)

    simulator.app.middlewares.append(record_key)
    await simulator.start()
    yield simulator, seen
    await simulator.stop()


@pytest.fixture
async def world(
    tmp_path: Path,
    locales: Path,
    sim_with_keys: tuple[PanelSimulator, list[tuple[str, str]]],
) -> AsyncIterator[World]:
    sim, seen = sim_with_keys
    client = PanelClient(sim.url, timeout=2.0, read_retries=0, retry_backoff=0.01)
    db = await Database.open(tmp_path / "data" / "bot.sqlite3")
    async with FakeTelegram() as tg:
        bot = tg.create_bot(default=DefaultBotProperties(parse_mode="HTML"))
        # The limits of the app's harness: only Telegram's 429 pauses hold a send back.
        limiter = SendLimiter(1000, 0)
        bot.session.middleware(FloodControlMiddleware(limiter, network_backoff=0.01))
        w = World(
            sim=sim,
            client=client,
            db=db,
            orders=OrderRepository(db),
            refills=RefillRepository(db),
            users=UserRepository(db),
            keys=KeyRepository(db, SecretBox(Fernet.generate_key())),
            tg=tg,
            bot=bot,
            i18n=build_i18n(locales, "en"),
            clock=Clock(),
            panel_keys=seen,
        )
        await w.new_notifier()
        try:
            yield w
        finally:
            for queue in w.queues:
                await queue.stop(drain=False)
            await bot.session.close()
            await client.close()
            await db.close()
