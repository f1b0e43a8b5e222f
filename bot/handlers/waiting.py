"""'Still waiting for the panel…': a word to a person whose answer is slow to come."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message

from bot.config import Settings
from bot.i18n import _

log = logging.getLogger(__name__)

# A quick panel answers within a second or two; after this, silence starts to look like a hang.
NOTICE_AFTER_SECONDS = 3.0


def notice_delay(deadline: float) -> float:
    """When to speak up: after a few seconds, and in any case well before the deadline."""
    return min(NOTICE_AFTER_SECONDS, deadline / 3)


@contextlib.asynccontextmanager
async def panel_wait(event: Message | CallbackQuery, settings: Settings) -> AsyncIterator[None]:
    """Around a panel call a person is waiting for: when it takes longer than a few seconds,
    a notice says so; it is deleted when the call is over, whatever its outcome."""
    message = event if isinstance(event, Message) else event.message
    if message is None or event.bot is None:
        yield
        return
    over = asyncio.Event()
    delay = notice_delay(settings.panel_interactive_deadline_seconds)
    notice = asyncio.create_task(_notice(event.bot, message.chat.id, over, delay))
    try:
        yield
    finally:
        over.set()
        # Awaited, not cancelled: a notice being sent at this moment is then deleted too.
        sent = await notice
        if sent is not None:
            with contextlib.suppress(TelegramAPIError):
                await sent.delete()


async def _notice(bot: Bot, chat_id: int, over: asyncio.Event, delay: float) -> Message | None:
    try:
        await asyncio.wait_for(over.wait(), delay)
    except TimeoutError:
        try:
            return await bot.send_message(chat_id, _("Still waiting for the panel…"))
        except TelegramAPIError as exc:  # the answer itself still comes, or its error does
            log.info("could not send the waiting notice: %s", exc)
    return None
