"""The whole bot, end to end: the real Dispatcher against a fake Bot API and the panel simulator."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from bot.app import BotApp
from bot.config import Settings
from bot.sandbox.chats import ChatMessage
from bot.sandbox.simulator import PanelSimulator
from tests.fakes.telegram import FakeTelegram

SHARED_KEY = "shared-panel-key-0123456789"
ADMIN = 900
# A shop selling to anyone, with Telegram Stars top-ups at 50 Stars to one unit.
SHOP: dict[str, Any] = {
    "mode": "shop",
    "allowed_user_ids": frozenset(),
    "stars_per_unit": Decimal(50),
}
ALICE = 101
BOB = 102
STRANGER = 666
PANEL_ANSWER_TIMEOUT = 10.0  # seconds; only a failing test waits that long

# Status polls far beyond a test's length: the screens under test are not interleaved with
# status notifications, and the panel requests counted are the handlers' alone.
NO_TRACKING: dict[str, Any] = {
    "poll_interval_seconds": 3600.0,
    "poll_max_interval_seconds": 3600.0,
}


WEBHOOK_SECRET = "test-webhook-secret-0123456789-abcdefghijklmnop"


def free_port() -> int:
    """A port nothing listens on now (the webhook server must know it before it starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Harness:
    """Drives the bot as people would: type text, press buttons, read the chat.

    `runner`: "polling" (the bot asks the fake Bot API for updates) or "webhook" (the fake
    POSTs them to the bot's webhook server, as Telegram does).
    """

    def __init__(
        self,
        tmp_path: Path,
        sim: PanelSimulator,
        tg: FakeTelegram,
        *,
        runner: str = "polling",
        database_url: str | None = None,
        **settings: Any,
    ) -> None:
        self.sim = sim
        self.tg = tg
        self.tmp_path = tmp_path
        self.database_url = database_url
        # A server database needs SECRET_KEY (the bot refuses to keep it in a file there).
        self._secret_key = Fernet.generate_key().decode()
        self.runner = runner
        self.overrides = settings
        if runner == "webhook":
            port = free_port()
            self.overrides = {
                "runner": "webhook",
                "webhook_url": f"http://127.0.0.1:{port}/telegram",
                "webhook_port": port,
                "webhook_secret": WEBHOOK_SECRET,
                **settings,
            }
        self.app: BotApp | None = None
        self._task: asyncio.Task[None] | None = None

    def settings(self) -> Settings:
        values: dict[str, Any] = {
            "bot_token": self.tg.token,
            "telegram_api_url": self.tg.base_url,
            "panel_url": self.sim.url,
            "panel_key": SHARED_KEY,
            "allowed_user_ids": frozenset({ALICE, BOB}),
            "admin_ids": frozenset({ADMIN}),
            "poll_interval_seconds": 0.2,
            "poll_max_interval_seconds": 1.0,
            "panel_timeout_seconds": 0.5,
            "telegram_messages_per_second": 1000,
            "telegram_chat_interval_seconds": 0.0,
            "throttle_updates_per_second": 1000,
            "throttle_burst": 1000,
            "catalog_ttl_seconds": 60,
        }
        if self.database_url is None:
            values["database_path"] = self.tmp_path / "data" / "bot.sqlite3"
        else:
            values["database_url"] = self.database_url
            if not self.database_url.startswith("sqlite"):
                values["secret_key"] = self._secret_key
        values.update(self.overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    async def stored_bytes(self) -> bytes:
        """Everything the bot keeps: its SQLite folder's files (WAL and journal included), or
        every row of its tables on a server."""
        folder = self.settings().database_file
        if folder is not None:
            files = sorted(folder.parent.iterdir())
            return b"".join(p.read_bytes() for p in files if p.is_file())
        assert self.app is not None
        async with self.app.db.read() as tx:
            tables = await tx.fetchall(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
            dump = [await tx.fetchall(f"SELECT * FROM {name}") for (name,) in tables]
        return repr(dump).encode()

    async def start(self) -> None:
        self.app = BotApp(self.settings(), bot_session=self.tg.create_session())
        await self.app.open()
        if self.runner == "webhook":
            # This run's look at the webhook, not an earlier run's: it comes once the server
            # listens (a restart finds the webhook active from the run before).
            earlier = len(self.tg.calls_of("getWebhookInfo"))
            self._task = asyncio.create_task(self.app.run(handle_signals=False))
            await self.tg.wait_for(
                lambda: (
                    len(self.tg.calls_of("getWebhookInfo")) > earlier and self.tg.webhook.active
                ),
                10,
            )
            return
        self._task = asyncio.create_task(self.app.run(handle_signals=False, polling_timeout=1))
        await self.tg.wait_for_call("getUpdates", timeout=10)

    async def stop(self) -> None:
        if self.app is not None and self._task is not None:
            await self.app.stop()
            await self._task
        self.app = None
        self._task = None

    async def restart_with(self, **settings: Any) -> None:
        """Stop, change these settings, start again (the same database)."""
        await self.stop()
        self.overrides = {**self.overrides, **settings}
        await self.start()

    async def restart(self) -> None:
        await self.stop()
        self.tg.clear_calls()
        await self.start()

    async def say(self, user: int, text: str, *, language: str = "en") -> ChatMessage:
        self.tg.send_text(user, text, language_code=language)
        await self.settle()
        return self.last(user)

    def last(self, user: int) -> ChatMessage:
        message = self.tg.last_message(user)
        assert message is not None, f"the bot wrote nothing to {user}"
        return message

    async def press(
        self, user: int, label: str, *, message: ChatMessage | None = None, language: str = "en"
    ) -> ChatMessage:
        message = message or self.last(user)
        button = message.button(label)
        self.tg.press(user, message.message_id, button["callback_data"], language_code=language)
        await self.settle()
        return self.last(user)

    async def settle(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has taken every update sent so far and finished handling it.

        Faster and surer than a quiet period: a handler waiting on the panel makes no Telegram
        call for a while, and the error handlers run after the update left the middlewares.
        """
        assert self.app is not None
        if self.runner == "webhook":
            # Answered 2xx means handled: the webhook server answers after the handling.
            async with asyncio.timeout(timeout):
                await self.tg.webhook.wait_delivered()
            return
        target = self.tg.next_update_id

        def taken() -> bool:
            # The bot confirms updates by asking for the next ones with a higher offset.
            return any(
                isinstance(call.params.get("offset"), int) and call.params["offset"] >= target
                for call in self.tg.calls_of("getUpdates")
            )

        await self.tg.wait_for(taken, timeout)
        # Each update taken has entered the bot's in-flight count before the bot asked for the
        # next ones (its task starts before that request is even written): wait for none.
        if not await self.app.inflight.drained(within=timeout):
            raise TimeoutError(f"updates still being handled after {timeout} s")

    def texts(self, user: int) -> list[str]:
        return [m.text for m in self.tg.transcript(user)]

    # --- helpers for stale, forged and repeated presses --------------------------------------

    def button_data(self, user: int, label: str, *, message: ChatMessage | None = None) -> str:
        """The callback_data of the button labelled `label` on `message` (default: the last)."""
        return str((message or self.last(user)).button(label)["callback_data"])

    def tap(self, user: int, label: str, *, message: ChatMessage | None = None) -> str:
        """Press a button without waiting for the bot; returns the callback query id."""
        message = message or self.last(user)
        data = self.button_data(user, label, message=message)
        return self.tg.press(user, message.message_id, data)

    def forge_press(
        self, user: int, data: str, *, message: ChatMessage | None = None, language: str = "en"
    ) -> str:
        """A callback query with any `data`, as a modified client could send it; returns its id.

        Unlike `tg.press`, the button need not exist: the query claims to come from `message`
        (default: the last bot message in the person's chat).
        """
        message = message or self.last(user)
        return self.tg.person(user, language_code=language).forge_press(message.message_id, data)

    def answer_of(self, query_id: str) -> str:
        """The text the bot answered a callback query with ("" when none)."""
        params = self.tg.callback_answers.get(query_id)
        assert params is not None, f"callback query {query_id} was not answered"
        return str(params.get("text") or "")

    def recorded_callback_data(self) -> Iterator[str]:
        """Every callback_data of every inline keyboard the bot sent or edited in."""
        for call in self.tg.calls:
            markup = call.params.get("reply_markup")
            if isinstance(markup, str):
                markup = json.loads(markup)
            if not isinstance(markup, dict):
                continue
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if "callback_data" in button:
                        yield str(button["callback_data"])

    def recorded_text(self) -> str:
        """Everything the bot sent to Telegram, parameters included, as one string."""
        return "\n".join(json.dumps(call.params, ensure_ascii=False) for call in self.tg.calls)

    # --- shortcuts through the catalogue ---------------------------------------------------

    async def open_service(self, user: int, service_id: int) -> ChatMessage:
        """The service's card, reached as a person would: /search ID, then its button."""
        await self.say(user, f"/search {service_id}")
        return await self.press(user, f"#{service_id} ")

    async def start_order(self, user: int, service_id: int) -> ChatMessage:
        """The first question of the order wizard for the service."""
        await self.open_service(user, service_id)
        return await self.press(user, "Order")

    # --- waiting for answers that need the panel ---------------------------------------------
    # For replies that come from a background task (the tracker) rather than from the handler.

    async def say_until(self, user: int, text: str, expect: str) -> int:
        """Write `text`, wait for a newer bot message containing `expect`; the message's id."""
        message_id = self.tg.send_text(user, text)

        def answered() -> bool:
            newer = (m for m in self.tg.transcript(user) if m.message_id > message_id)
            return any(expect in m.text for m in newer)

        await self.tg.wait_for(answered, PANEL_ANSWER_TIMEOUT)
        await self.settle()
        return message_id

    async def press_until(self, user: int, label: str, expect: str) -> ChatMessage:
        """Press `label` on the last message, wait until the last message contains `expect`."""
        message = self.last(user)
        self.tg.press(user, message.message_id, message.button(label)["callback_data"])
        await self.tg.wait_for(lambda: expect in self.last(user).text, PANEL_ANSWER_TIMEOUT)
        await self.settle()
        return self.last(user)


@contextlib.asynccontextmanager
async def running(
    tmp_path: Path, sim: PanelSimulator, tg: FakeTelegram, **settings: Any
) -> AsyncIterator[Harness]:
    """A started Harness with these setting overrides, stopped on exit."""
    harness = Harness(tmp_path, sim, tg, **settings)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
