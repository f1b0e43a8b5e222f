"""Own-key mode: until a person connects a key, only handlers flagged `public` serve them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.i18n import _
from bot.services.accounts import AccountResolver


class AccountMiddleware(BaseMiddleware):
    """Puts the person's panel `account` into the handler's data, or refuses politely."""

    def __init__(self, accounts: AccountResolver) -> None:
        self._accounts = accounts

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        account = await self._accounts.for_user(user.id) if user is not None else None
        data["account"] = account
        if account is not None or get_flag(data, "public"):
            return await handler(event, data)
        text = _("Connect your panel API key first: send /connect.")
        if isinstance(event, CallbackQuery):
            await event.answer(text, show_alert=True)
        elif isinstance(event, Message):
            await event.answer(text)
        return None
