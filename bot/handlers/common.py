"""Greeting, help, leaving a conversation, and the person's language."""

from __future__ import annotations

from functools import lru_cache

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n

from bot.config import Settings
from bot.handlers.screens import show
from bot.i18n import CatalogI18n, _, current_language
from bot.keyboards import menus
from bot.keyboards.callbacks import Noop, PickLanguage
from bot.services.accounts import Account
from bot.storage.repositories import UserRepository, UserRow
from bot.views.markup import Limit, escaped


def help_text(settings: Settings) -> str:
    return _help_text(
        I18n.get_current(), current_language(), settings.shop_mode, settings.shared_key_mode
    )


@lru_cache(maxsize=64)
def _help_text(catalogues: I18n, language: str, shop: bool, shared_key: bool) -> str:
    # Made once per language (and set of catalogues): eight translations at every /help.
    lines = [
        _("<b>What I can do</b>"),
        _("/new: browse the catalogue and place an order"),
        _("/search: find a service by name or ID"),
        _("/orders: your orders; /order ID: one order"),
        # A shop's customers never see the operator's panel balance.
        _("/balance: your wallet") if shop else _("/balance: the panel balance"),
    ]
    if not shared_key:
        lines.append(_("/connect, /disconnect: your panel API key"))
    lines += [_("/language: change the language"), _("/cancel: leave the current step")]
    return "\n".join(lines)


async def start(
    message: Message, state: FSMContext, settings: Settings, account: Account | None
) -> None:
    await state.clear()
    name = message.from_user.first_name if message.from_user else ""
    text = _("Hello, {name}! I place orders on the SMM panel for you.").format(
        name=escaped(name, Limit.NAME)
    )
    if account is None:
        text += "\n\n" + _(
            "First connect your panel API key: send /connect. You find the key on the panel's "
            "API page."
        )
    text += "\n\n" + help_text(settings)
    await message.answer(text, reply_markup=menus.main_menu())


async def help_command(message: Message, settings: Settings) -> None:
    await message.answer(help_text(settings), reply_markup=menus.main_menu())


async def cancel(message: Message, state: FSMContext) -> None:
    had_state = await state.get_state() is not None
    await state.clear()
    text = _("Cancelled.") if had_state else _("Nothing to cancel.")
    await message.answer(text, reply_markup=menus.main_menu())


async def language_menu(message: Message, i18n: CatalogI18n) -> None:
    await message.answer(
        _("Choose your language:"),
        reply_markup=menus.languages(i18n.languages, i18n.current_locale),
    )


async def pick_language(
    callback: CallbackQuery,
    callback_data: PickLanguage,
    i18n: CatalogI18n,
    users: UserRepository,
    person: UserRow,
    settings: Settings,
) -> None:
    if callback_data.code not in i18n.languages:
        await callback.answer()
        return
    await users.set_language(person.telegram_id, callback_data.code)
    with i18n.use_locale(callback_data.code):
        await show(callback, _("Language: English"), None)
        if callback.message is not None:
            await callback.bot.send_message(  # type: ignore[union-attr]
                callback.message.chat.id, help_text(settings), reply_markup=menus.main_menu()
            )


async def noop(callback: CallbackQuery) -> None:
    await callback.answer()


async def unknown_button(callback: CallbackQuery) -> None:
    # Answered all the same: an unanswered press leaves the button spinning.
    await callback.answer(_("This button no longer works. Send /start."))


async def unknown_message(message: Message, state: FSMContext) -> None:
    # Text no handler took (outside any question, or a command the bot does not have).
    if await state.get_state() is not None:
        text = _("I did not understand that. Use the buttons above, or send /cancel to stop.")
        await message.answer(text)
        return
    text = _("I did not understand that. Use the menu below, or send /help.")
    await message.answer(text, reply_markup=menus.main_menu())


def create_router() -> Router:
    """A new router each time: a router can belong to one Dispatcher only."""
    router = Router(name="common")
    router.message(CommandStart())(start)
    router.message(Command("help"))(help_command)
    router.message(F.text == menus.MENU_HELP)(help_command)
    router.message(Command("cancel"))(cancel)
    router.message(Command("language"))(language_menu)
    router.message(F.text == menus.MENU_LANGUAGE)(language_menu)
    router.callback_query(PickLanguage.filter())(pick_language)
    router.callback_query(Noop.filter())(noop)
    return router


def create_fallback_router() -> Router:
    """Included after every other router: what none of them took still gets an answer."""
    router = Router(name="fallback")
    router.callback_query()(unknown_button)
    router.message()(unknown_message)
    return router
