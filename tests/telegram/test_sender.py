from collections.abc import Callable
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.services.delivery import ChatUnreachable, Outgoing, PermanentFailure
from bot.telegram.retry import never_sent
from bot.telegram.sender import make_bot_sender
from tests.fakes.telegram import FakeTelegram


async def test_sends_text_and_markup_with_the_bots_defaults(
    fake: FakeTelegram, make_bot: Callable[..., Bot]
) -> None:
    send = make_bot_sender(make_bot())
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Open", callback_data="order:7")]]
    )

    await send(Outgoing(5, "<b>Order 7</b> is completed", reply_markup=markup))

    params = fake.sent_messages(5)[0]
    assert params["parse_mode"] == "HTML"
    assert params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Open", "callback_data": "order:7"}]]
    }
    shown = fake.last_message(5)
    assert shown is not None
    assert shown.text == "Order 7 is completed"


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        # Refused, never shown: the queue may retry it (the bot's middleware waits these out).
        ({"error_code": 429, "retry_after": 2}, TelegramRetryAfter),
        ({"error_code": 403}, ChatUnreachable),
        ({"error_code": 403, "description": "Forbidden: user is deactivated"}, ChatUnreachable),
        ({"error_code": 400, "description": "Bad Request: chat not found"}, ChatUnreachable),
        ({"error_code": 400, "description": "Bad Request: message is too long"}, PermanentFailure),
        ({"error_code": 500}, PermanentFailure),
    ],
)
async def test_telegram_errors_are_translated(
    fake: FakeTelegram,
    make_bot: Callable[..., Bot],
    fault: dict[str, Any],
    expected: type[Exception],
) -> None:
    send = make_bot_sender(make_bot())
    fake.faults.fail_next("sendMessage", **fault)

    with pytest.raises(expected) as raised:
        await send(Outgoing(5, "text"))

    if isinstance(raised.value, TelegramRetryAfter):
        assert raised.value.retry_after == 2
    assert fake.transcript(5) == []


async def test_a_lost_answer_is_a_permanent_failure(
    fake: FakeTelegram, make_bot: Callable[..., Bot]
) -> None:
    send = make_bot_sender(make_bot())
    fake.faults.disconnect_next("sendMessage", after_processing=True)

    with pytest.raises(PermanentFailure):
        await send(Outgoing(5, "delivered, answer lost"))

    assert len(fake.transcript(5)) == 1


async def test_a_refused_connection_stays_retryable(offline_bot: Bot) -> None:
    send = make_bot_sender(offline_bot)

    with pytest.raises(TelegramNetworkError) as raised:
        await send(Outgoing(5, "nobody there"))

    assert never_sent(raised.value)
