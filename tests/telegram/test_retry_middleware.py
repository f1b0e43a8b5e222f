import asyncio
import logging
from collections.abc import Callable

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from bot.telegram.retry import RetryAfterMiddleware, is_repeatable
from tests.fakes.telegram import FakeTelegram

BotFactory = Callable[..., Bot]


async def test_flood_control_pauses_the_whole_bot_and_resends_once(
    fake: FakeTelegram, make_bot: BotFactory
) -> None:
    middleware = RetryAfterMiddleware()
    bot = make_bot(middleware)
    fake.faults.fail_next("sendMessage", retry_after=1, chat_id=1)

    flooded = asyncio.create_task(bot.send_message(1, "flooded"))
    refused = await fake.wait_for_call("sendMessage", chat_id=1)
    await fake.wait_for(lambda: middleware.paused_for > 0)
    await bot.send_message(2, "sent during the pause")
    await flooded

    assert refused.error_code == 429
    resent = await fake.wait_for_call("sendMessage", chat_id=1, count=2)
    other = await fake.wait_for_call("sendMessage", chat_id=2)
    assert resent.error_code is None
    assert resent.time >= refused.time + 1
    assert other.time >= refused.time + 1  # the pause held back a different chat too
    assert [m.text for m in fake.transcript(1)] == ["flooded"]
    assert [m.text for m in fake.transcript(2)] == ["sent during the pause"]


async def test_retry_after_beyond_max_wait_goes_to_the_caller(
    fake: FakeTelegram, make_bot: BotFactory
) -> None:
    middleware = RetryAfterMiddleware(max_wait=2)
    bot = make_bot(middleware)
    fake.faults.fail_next("sendMessage", retry_after=30)

    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(1, "later")
    # The ban holds for every call: refused here, not sent to earn a longer one.
    assert middleware.paused_for > 25
    with pytest.raises(TelegramRetryAfter) as refused:
        await bot.send_message(2, "meanwhile")
    assert 25 < refused.value.retry_after <= 30

    assert len(fake.calls_of("sendMessage")) == 1


async def test_gives_up_after_max_attempts(fake: FakeTelegram, make_bot: BotFactory) -> None:
    bot = make_bot(RetryAfterMiddleware(max_attempts=2))
    fake.faults.fail_next("sendMessage", retry_after=1, times=2)

    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(1, "never")

    assert [c.error_code for c in fake.calls_of("sendMessage")] == [429, 429]
    assert fake.transcript(1) == []


async def test_forbidden_is_not_retried(fake: FakeTelegram, make_bot: BotFactory) -> None:
    bot = make_bot(RetryAfterMiddleware(network_backoff=0.01))
    fake.faults.fail_next("sendMessage", error_code=403)

    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(1, "blocked")

    assert len(fake.calls_of("sendMessage")) == 1


async def test_server_errors_are_retried_only_for_repeatable_methods(
    fake: FakeTelegram, make_bot: BotFactory
) -> None:
    bot = make_bot(RetryAfterMiddleware(network_attempts=3, network_backoff=0.01))
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
    bot = make_bot(RetryAfterMiddleware(network_backoff=0.01))
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
    offline_bot.session.middleware(RetryAfterMiddleware(network_attempts=5, network_backoff=0.2))
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
    offline_bot.session.middleware(RetryAfterMiddleware(network_attempts=2, network_backoff=0.01))

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
