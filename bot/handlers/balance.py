"""The panel balance, on request."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.config import Settings
from bot.handlers.waiting import panel_wait
from bot.i18n import _
from bot.keyboards import menus
from bot.services.accounts import Account
from bot.texts import money


async def balance(message: Message, account: Account, settings: Settings) -> None:
    async with panel_wait(message, settings):
        answer = await account.panel.balance()
    await message.answer(
        _("Balance: {balance}").format(balance=money(answer.balance, answer.currency))
    )


def create_router() -> Router:
    """A new router each time: a router can belong to one Dispatcher only."""
    router = Router(name="balance")
    router.message(Command("balance"))(balance)
    router.message(F.text == menus.MENU_BALANCE)(balance)
    return router
