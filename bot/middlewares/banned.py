"""Banned people get one polite line (at most once an hour) and nothing else, but for their
payments; also remembers every person's username, so the console can find them by it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.i18n import _
from bot.middlewares.people import RecentlyTold
from bot.services.delivery import Priority
from bot.services.people import People
from bot.telegram.limiter import sending_at
from bot.telegram.payments import is_payment

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class BanGate(BaseMiddleware):
    def __init__(self, people: People, *, interval: float = 3600.0) -> None:
        self._people = people
        self._told = RecentlyTold(interval)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None:
            return await handler(event, data)
        await self._people.seen(user.id, user.username)
        # A payment passes: Telegram took the Stars (or gave them back) and says so once, so a
        # ban that came after the pre-checkout must not lose the credit, nor keep a refunded one.
        if is_payment(event) or not await self._people.turned_away(user.id):
            return await handler(event, data)
        first = await self._told.first_time(user.id)
        text = _("Sorry, this bot no longer serves you.")
        with sending_at(Priority.BULK):
            if isinstance(event, CallbackQuery):
                await event.answer(text if first else None, show_alert=first)
            elif isinstance(event, Message) and first:
                await event.answer(text)
        return None
