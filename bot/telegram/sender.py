"""Sends ``OutboundQueue`` messages through an aiogram ``Bot``, translating Telegram's errors.

The bot's ``FloodControlMiddleware`` keeps the limits and waits out 429s, at the message's
priority: a push waits behind the answers people are waiting for.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)

from bot.services.delivery import (
    ChatUnreachable,
    OutcomeUnknown,
    Outgoing,
    PermanentFailure,
    SendFn,
)
from bot.telegram.limiter import sending_at
from bot.telegram.retry import never_sent


def make_bot_sender(bot: Bot) -> SendFn:
    """A send function for ``OutboundQueue``; parse mode and other defaults come from ``bot``."""

    async def send(message: Outgoing) -> None:
        try:
            with sending_at(message.priority):
                await bot.send_message(
                    chat_id=message.chat_id, text=message.text, reply_markup=message.reply_markup
                )
        except TelegramRetryAfter:
            raise  # refused, so never shown: the queue may try again
        except TelegramForbiddenError as error:
            # Blocked by the user, user deactivated, bot kicked: all final for this chat.
            raise ChatUnreachable(error.message) from None
        except TelegramBadRequest as error:
            if "chat not found" in error.message.lower():
                raise ChatUnreachable(error.message) from None
            raise PermanentFailure(error.message) from None
        except TelegramAPIError as error:
            if never_sent(error):
                raise  # the queue retries it: nothing reached Telegram
            # A 5xx, a timeout or a dropped connection may come after Telegram delivered the
            # message; resending could show it twice, so it is given up instead.
            raise OutcomeUnknown(f"{type(error).__name__}: {error.message}") from None

    return send
