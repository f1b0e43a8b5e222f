"""On the catalogue and ordering routers: during maintenance, customers get a short notice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.i18n import _
from bot.services.maintenance import Maintenance

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class MaintenanceGate(BaseMiddleware):
    """Admins pass (they check the shop before switching it back on); nobody else does."""

    def __init__(self, maintenance: Maintenance, admin_ids: Collection[int]) -> None:
        self._maintenance = maintenance
        self._admin_ids = admin_ids

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if (user is not None and user.id in self._admin_ids) or not await self._maintenance.is_on():
            return await handler(event, data)
        text = _(
            "The shop is closed for maintenance for a short while. Your orders are still "
            "tracked and you will be told of every change. Please come back later."
        )
        if isinstance(event, CallbackQuery):
            await event.answer(text, show_alert=True)
        elif isinstance(event, Message):
            await event.answer(text)
        return None
