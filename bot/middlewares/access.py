"""Whose panel account a person uses, and the gate of the handlers that need one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.i18n import _
from bot.services.accounts import AccountResolver

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class AccountLookup(BaseMiddleware):
    """Puts the person's panel `account` (None when they have none) into the handler's data."""

    def __init__(self, accounts: AccountResolver) -> None:
        self._accounts = accounts

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        data["account"] = await self._accounts.for_user(user.id) if user is not None else None
        return await handler(event, data)


class AccountRequired(BaseMiddleware):
    """On the router of handlers that use the panel: without an account, a polite refusal.

    Needs AccountLookup on a parent router.
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if data.get("account") is not None:
            return await handler(event, data)
        text = _("Connect your panel API key first: send /connect.")
        if isinstance(event, CallbackQuery):
            await event.answer(text, show_alert=True)
        elif isinstance(event, Message):
            await event.answer(text)
        return None
