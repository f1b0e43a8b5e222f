import asyncio
import logging
from collections.abc import Callable

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramServerError,
)

from bot.telegram.limiter import Budget, SendingStopped, SendLimiter
from bot.telegram.retry import FloodControlMiddleware, budget_of, is_repeatable
from tests.fakes.telegram import FakeTelegram

BotFactory = Callable[..., Bot]


def unlimited() -> SendLimiter:
    """A limiter that never holds a call back but for Telegram's 429 pauses."""
    return SendLimiter(10_000, 0)


async def test_flood_control_pauses_the_whole_bot_and_resends_once(
    fake: FakeTelegram, make_bot: BotFactory
) -> None:
    middleware = FloodControlMiddleware(unlimited())
    bot = make_bot(middleware)
    fake.faults.fail_next("sendMessage", retry_after=1, chat_id=1)

    flooded = asyncio.create_task(bot.send_message(1, "flooded"))
    refused = await fake.wait_for_call("sendMessage", chat_id=1)
    await fake.wait_for(lambda: middleware.limiter.paused_for > 0)
    # A call that costs no message skips the queue when no pause holds, not during one.
    await asyncio.gather(
        bot.send_message(2, "sent during the pause"), bot.send_chat_action(3, "typing")
    )
    await flooded

    assert refused.error_code == 429
    resent = await fake.wait_for_call("sendMessage", chat_id=1, count=2)
    other = await fake.wait_for_call("sendMessage", chat_id=2)
    assert resent.error_code is None
    assert resent.time >= refused.time + 1
    assert other.time >= refused.time + 1  # the pause held back a different chat too
    action = await fake.wait_for_call("sendChatAction", chat_id=3)
    assert action.time >= refused.time + 1
    assert [m.text for m in fake.transcript(1)] == ["flooded"]
    assert [m.text for m in fake.transcript(2)] == ["sent during the pause"]
    assert middleware.limiter.floods == 1


async def test_a_long_pause_is_waited_out_until_the_limiter_closes(
    fake: FakeTelegram, make_bot: BotFactory
) -> None:
    limiter = unlimited()
    bot = make_bot(FloodControlMiddleware(limiter))
    fake.faults.fail_next("sendMessage", retry_after=120)

    waiting = asyncio.create_task(bot.send_message(1, "worth the wait"))
    await fake.wait_for_call("sendMessage", chat_id=1)
    await fake.wait_for(lambda: limiter.waiting == 1)
    meanwhile = asyncio.create_task(bot.send_message(2, "meanwhile"))
    await fake.wait_for(lambda: limiter.waiting == 2)

    # Held, not given up (a stop is the only end before Telegram's pause is over).
    assert not waiting.done()
    assert limiter.paused_for > 100
    limiter.close()
    for call in (waiting, meanwhile):
        with pytest.raises(SendingStopped):
            await call
    with pytest.raises(SendingStopped):
        await bot.send_message(3, "after the stop")
    assert len(fake.calls_of("sendMessage")) == 1


async def test_repeated_429s_are_all_waited_out(fake: FakeTelegram, make_bot: BotFactory) -> None:
    limiter = unlimited()
    bot = make_bot(FloodControlMiddleware(limiter))
    fake.faults.fail_next("sendMessage", retry_after=1, times=2)

    await bot.send_message(1, "at last")

    assert [c.error_code for c in fake.calls_of("sendMessage")] == [429, 429, None]
    assert [m.text for m in fake.transcript(1)] == ["at last"]
    assert limiter.floods == 2


async def test_forbidden_is_not_retried(fake: FakeTelegram, make_bot: BotFactory) -> None:
    bot = make_bot(FloodControlMiddleware(unlimited(), network_backoff=0.01))
    fake.faults.fail_next("sendMessage", error_code=403)

    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(1, "blocked")

    assert len(fake.calls_of("sendMessage")) == 1


async def test_server_errors_are_retried_only_for_repeatable_methods(
    fake: FakeTelegram, make_bot: BotFactory
) -> None:
    bot = make_bot(FloodControlMiddleware(unlimited(), network_attempts=3, network_backoff=0.01))
    sent = await bot.send_message(1, "menu")

    fake.faults.fail_next("editMessageText", error_code=500)
    await bot.edit_message_text("edited", chat_id=1, message_id=sent.message_id)
    fake.faults.fail_next("sendMessage", error_code=502)
    with pytest.raises(TelegramServerError):
        await bot.send_message(1, "maybe delivered")
    fake.faults.fail_next("deleteMessage", error_code=500, times=3)
    with pytest.raises(TelegramServerError):
        await bot.delete_message(1, sent.message_id)

    assert [c.error_code for c in fake.calls_of("editMessageText")] == [500, None]
    assert [c.error_code for c in fake.calls_of("sendMessage")] == [None, 502]
    assert [c.error_code for c in fake.calls_of("deleteMessage")] == [500, 500, 500]
    assert [m.text for m in fake.transcript(1)] == ["edited"]


async def test_a_send_whose_answer_was_lost_is_not_duplicated(
    fake: FakeTelegram, make_bot: BotFactory
) -> None:
    bot = make_bot(FloodControlMiddleware(unlimited(), network_backoff=0.01))
    fake.faults.disconnect_next("sendMessage", after_processing=True)
    fake.faults.disconnect_next("getMe")

    with pytest.raises(TelegramNetworkError):
        await bot.send_message(1, "delivered, answer lost")
    me = await bot.get_me()

    assert [m.text for m in fake.transcript(1)] == ["delivered, answer lost"]
    assert len(fake.calls_of("sendMessage")) == 1
    assert me.id == bot.id
    assert [c.error_code for c in fake.calls_of("getMe")] == [0, None]


async def test_refused_connections_are_retried_even_for_send_message(
    offline_bot: Bot, free_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    offline_bot.session.middleware(
        FloodControlMiddleware(unlimited(), network_attempts=5, network_backoff=0.2)
    )
    fake = FakeTelegram(offline_bot.token)

    with caplog.at_level(logging.WARNING, logger="bot.telegram.retry"):
        sending = asyncio.create_task(offline_bot.send_message(1, "once"))
        await asyncio.sleep(0.05)  # the first attempt finds nobody listening
        await fake.start(port=free_port)
        try:
            await sending
        finally:
            await fake.stop()

    assert [m.text for m in fake.transcript(1)] == ["once"]
    assert "sendMessage failed (TelegramNetworkError)" in caplog.text
    assert offline_bot.token not in caplog.text


async def test_refused_connections_are_retried_a_bounded_number_of_times(
    offline_bot: Bot,
) -> None:
    offline_bot.session.middleware(
        FloodControlMiddleware(unlimited(), network_attempts=2, network_backoff=0.01)
    )

    with pytest.raises(TelegramNetworkError):
        await offline_bot.send_message(1, "nobody there")


@pytest.mark.parametrize(
    ("method", "repeatable"),
    [
        ("getUpdates", True),
        ("editMessageText", True),
        ("deleteMessage", True),
        ("answerCallbackQuery", True),
        ("setMyCommands", True),
        ("sendChatAction", True),
        ("sendMessage", False),
        ("sendPhoto", False),
        ("copyMessage", False),
    ],
)
def test_repeatable_methods(method: str, repeatable: bool) -> None:
    assert is_repeatable(method) is repeatable


@pytest.mark.parametrize(
    ("method", "budget"),
    [
        ("getUpdates", None),
        ("sendMessage", Budget.MESSAGE),
        ("sendPhoto", Budget.MESSAGE),
        ("copyMessage", Budget.MESSAGE),
        ("forwardMessage", Budget.MESSAGE),
        ("editMessageText", Budget.EDIT),
        ("editMessageReplyMarkup", Budget.EDIT),
        ("sendChatAction", Budget.FREE),
        ("answerCallbackQuery", Budget.FREE),
        ("deleteMessage", Budget.FREE),
        ("setMyCommands", Budget.FREE),
    ],
)
def test_what_each_method_costs(method: str, budget: Budget | None) -> None:
    assert budget_of(method) is budget
