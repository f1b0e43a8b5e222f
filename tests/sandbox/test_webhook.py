"""Webhook delivery by the fake Bot API, received by a small aiohttp server as a bot's webhook
runner would receive it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.sandbox.webhook import SECRET_HEADER
from tests.fakes.telegram import FakeTelegram

SECRET = "s3cret_token-0123456789abcdefghijkl"
USER = 42
WAIT = 10.0  # seconds; only a failing test waits that long


class Receiver:
    """A webhook endpoint: answers each POST with the next of `statuses` (then 200), records
    what arrived, and can hold requests until `gate` is set."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.received: list[dict[str, Any]] = []  # every POST, failed or not
        self.accepted: list[dict[str, Any]] = []  # those answered 200
        self.secrets: list[str | None] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.in_flight = 0
        self.most_in_flight = 0
        self.arrived = asyncio.Condition()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self, port: int = 0) -> str:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"
        return self.url

    async def stop(self) -> None:
        self.gate.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        self.received.append(update)
        self.secrets.append(request.headers.get(SECRET_HEADER))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        async with self.arrived:
            self.arrived.notify_all()
        try:
            await self.gate.wait()
        finally:
            self.in_flight -= 1
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.accepted.append(update)
        return web.Response(status=status)

    async def wait_received(self, count: int) -> None:
        async with asyncio.timeout(WAIT), self.arrived:
            await self.arrived.wait_for(lambda: len(self.received) >= count)

    def texts(self) -> list[str]:
        return [u["message"]["text"] for u in self.accepted if "message" in u]


@pytest.fixture
async def make_receiver() -> AsyncIterator[Callable[[], Receiver]]:
    receivers: list[Receiver] = []

    def make() -> Receiver:
        receivers.append(Receiver())
        return receivers[-1]

    yield make
    for receiver in receivers:
        await receiver.stop()


@pytest.fixture
async def receiver(make_receiver: Callable[[], Receiver]) -> Receiver:
    receiver = make_receiver()
    await receiver.start()
    return receiver


async def delivered(fake: FakeTelegram) -> None:
    async with asyncio.timeout(WAIT):
        await fake.webhook.wait_delivered()


async def test_updates_are_posted_with_the_secret_token(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    assert await bot.set_webhook(receiver.url, secret_token=SECRET, max_connections=5)
    fake.send_text(USER, "hello")
    fake.send_text(USER, "/start")
    await delivered(fake)

    assert receiver.texts() == ["hello", "/start"]
    assert receiver.secrets == [SECRET, SECRET]
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count, info.max_connections) == (receiver.url, 0, 5)
    assert info.last_error_message is None


async def test_get_updates_conflicts_while_a_webhook_is_set(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    await bot.set_webhook(receiver.url)
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates(timeout=0)

    receiver.gate.clear()  # the next update stays in flight while the webhook goes
    fake.send_text(USER, "in flight")
    await receiver.wait_received(1)
    assert await bot.delete_webhook()
    fake.send_text(USER, "after")
    receiver.gate.set()
    await fake.wait_for(lambda: len(fake.updates) == 1, WAIT)  # the POST under way was confirmed
    assert receiver.texts() == ["in flight"]
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["after"]
    assert (await bot.get_webhook_info()).url == ""


async def test_a_failed_delivery_is_retried_until_answered_2xx(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    receiver.statuses = [500, 502]
    await bot.set_webhook(receiver.url)
    fake.send_text(USER, "keep me")
    await receiver.wait_received(2)
    await delivered(fake)

    assert len(receiver.received) == 3
    assert receiver.texts() == ["keep me"]
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 502 Bad Gateway"


async def test_401_is_recorded_and_the_update_kept(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    receiver.statuses = [401] * 1000
    fake.webhook.retry_delay = fake.webhook.max_retry_delay = 0.01
    await bot.set_webhook(receiver.url, secret_token=SECRET)
    fake.send_text(USER, "refused")
    await receiver.wait_received(2)

    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1
    assert info.last_error_message == "Wrong response from the webhook: 401 Unauthorized"
    assert info.last_error_date is not None
    receiver.statuses.clear()  # the receiver accepts the next attempt
    await delivered(fake)
    assert receiver.texts() == ["refused"]


async def test_nobody_listening_loses_nothing(
    fake: FakeTelegram, bot: Bot, make_receiver: Callable[[], Receiver]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    await bot.set_webhook(f"http://127.0.0.1:{port}/hook")
    fake.send_text(USER, "one")
    fake.send_text(USER, "two")
    await fake.wait_for(lambda: fake.webhook.last_error_message is not None, WAIT)
    assert (await bot.get_webhook_info()).pending_update_count == 2
    assert fake.webhook.last_error_message == "Connection refused"

    receiver = make_receiver()
    await receiver.start(port)
    await delivered(fake)
    assert sorted(receiver.texts()) == ["one", "two"]


async def test_no_more_than_max_connections_at_once(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    receiver.gate.clear()
    await bot.set_webhook(receiver.url, max_connections=2)
    for number in range(5):
        fake.send_text(USER, str(number))
    await receiver.wait_received(2)
    assert (await bot.get_webhook_info()).pending_update_count == 5
    receiver.gate.set()
    await delivered(fake)

    assert receiver.most_in_flight == 2
    assert sorted(receiver.texts()) == ["0", "1", "2", "3", "4"]


async def test_drop_pending_updates_and_allowed_updates(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    fake.send_text(USER, "old")
    await bot.set_webhook(receiver.url, drop_pending_updates=True, allowed_updates=["message"])
    fake.send_text(USER, "/start")
    fake.stop_bot(USER)  # a my_chat_member update, which the bot did not ask for
    await delivered(fake)

    assert receiver.texts() == ["/start"]
    assert len(receiver.received) == 1
    assert (await bot.get_webhook_info()).allowed_updates == ["message"]


async def test_route_to_delivers_to_each_address_in_turn(
    fake: FakeTelegram, bot: Bot, make_receiver: Callable[[], Receiver]
) -> None:
    first, second = make_receiver(), make_receiver()
    await first.start()
    await second.start()
    await bot.set_webhook("https://bot.example.com/hook", max_connections=1)
    fake.webhook.route_to([first.url, second.url])
    for number in range(4):
        fake.send_text(USER, str(number))
    await delivered(fake)

    assert first.texts() == ["0", "2"]
    assert second.texts() == ["1", "3"]


async def test_wait_delivered_waits_for_updates_added_before_it(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    receiver.gate.clear()
    await bot.set_webhook(receiver.url)
    fake.send_text(USER, "slow")
    waiting = asyncio.create_task(fake.webhook.wait_delivered())
    await receiver.wait_received(1)
    assert not waiting.done()
    receiver.gate.set()
    async with asyncio.timeout(WAIT):
        await waiting
    assert receiver.texts() == ["slow"]


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"url": "ftp://example.com/hook"}, "An HTTPS URL must be provided"),
        ({"url": "https://example.com/hook", "secret_token": "no spaces"}, "unallowed characters"),
        ({"url": "https://example.com/hook", "max_connections": 0}, "max_connections"),
        ({"url": "https://example.com/hook", "max_connections": 101}, "max_connections"),
    ],
)
async def test_bad_webhook_settings_are_refused(
    fake: FakeTelegram, bot: Bot, params: dict[str, Any], description: str
) -> None:
    with pytest.raises(TelegramBadRequest, match=description):
        await bot.set_webhook(**params)
    assert not fake.webhook.active


async def test_aiogram_webhook_handler_and_methods_in_its_answers(
    fake: FakeTelegram, bot: Bot
) -> None:
    """aiogram's own webhook server: the secret checked, and a method returned by a handler
    (sent back in the answer to the POST) run by the fake, as Telegram runs it."""
    router = Router()

    @router.message(F.text)
    async def echo(message: Message) -> Any:
        return message.answer(f"echo {message.text}")  # not awaited: sent in the answer

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, secret_token=SECRET, handle_in_background=False).register(
        app, path="/hook"
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        await bot.set_webhook(url, secret_token="wrong-secret")
        fake.send_text(USER, "first")
        await fake.wait_for(lambda: fake.webhook.last_error_message is not None, WAIT)
        assert "401" in (fake.webhook.last_error_message or "")
        assert fake.transcript(USER) == []

        await bot.set_webhook(url, secret_token=SECRET)
        fake.send_text(USER, "second")
        await delivered(fake)
    finally:
        await runner.cleanup()

    assert [m.text for m in fake.transcript(USER)] == ["echo first", "echo second"]
    assert [c.error_code for c in fake.calls_of("sendMessage")] == [None, None]


async def test_a_receiver_too_slow_to_answer_gets_the_update_again(
    fake: FakeTelegram, bot: Bot, receiver: Receiver
) -> None:
    fake.webhook.timeout = 0.2
    receiver.gate.clear()
    await bot.set_webhook(receiver.url)
    fake.send_text(USER, "slow")
    await fake.wait_for(lambda: fake.webhook.last_error_message is not None, WAIT)
    assert fake.webhook.last_error_message == "Connection timed out"
    assert len(fake.updates) == 1
    receiver.gate.set()
    await delivered(fake)
    assert receiver.texts()[-1] == "slow"
