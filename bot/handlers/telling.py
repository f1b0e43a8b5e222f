"""Telling a person something another person did (an admin settled their order, moved money)."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError
from aiogram.types import InlineKeyboardMarkup, Message

from bot.i18n import CatalogI18n, _
from bot.storage.repositories import UserRepository


async def tell(
    bot: Bot,
    users: UserRepository,
    i18n: CatalogI18n,
    user_id: int,
    text_fn: Callable[[], tuple[str, InlineKeyboardMarkup | None]],
    admin_message: Message,
) -> None:
    """Send `text_fn()`, rendered in the person's language; the admin hears if they blocked us."""
    person = await users.get(user_id)
    with i18n.use_locale(person.language if person and person.language else i18n.default_locale):
        text, markup = text_fn()
    try:
        await bot.send_message(user_id, text, reply_markup=markup)
    except TelegramForbiddenError:
        # Left to the error handler, the admin would be the one marked as blocked.
        await users.set_blocked(user_id, True)
        await admin_message.answer(_("The person has blocked the bot and was not told."))
