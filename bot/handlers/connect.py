"""Own-key mode: connecting and disconnecting a person's panel API key."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.config import Settings
from bot.handlers.screens import is_answer
from bot.handlers.waiting import panel_wait
from bot.i18n import _
from bot.keyboards import menus
from bot.panel.errors import InvalidKey, PanelError
from bot.services.accounts import AccountResolver
from bot.services.catalog import CatalogService
from bot.storage.repositories import KeyRepository
from bot.telegram.key_messages import ConnectForm, delete_at_once
from bot.texts import money, panel_failure

MAX_KEY_LENGTH = 200


def is_menu_button(message: Message) -> bool:
    """A main-menu button's text, in the person's language."""
    return message.text in {str(label) for label in menus.MENU_LABELS}


async def connect(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    settings: Settings,
    accounts: AccountResolver,
    keys: KeyRepository,
    catalog: CatalogService,
) -> None:
    if settings.shared_key_mode:
        if command.args:
            # Whatever was sent may be a key: it does not stay in the chat either.
            await delete_at_once(message)
        await message.answer(_("This bot uses its operator's panel account: nothing to connect."))
        return
    if command.args:
        await _check_and_store(message, command.args, state, settings, accounts, keys, catalog)
        return
    await state.set_state(ConnectForm.key)
    await message.answer(
        _(
            "Send your panel API key (on the panel's API page). I delete your message at once "
            "and keep the key encrypted. /cancel to stop."
        )
    )


async def key_received(
    message: Message,
    state: FSMContext,
    settings: Settings,
    accounts: AccountResolver,
    keys: KeyRepository,
    catalog: CatalogService,
) -> None:
    assert message.text is not None
    await _check_and_store(message, message.text, state, settings, accounts, keys, catalog)


async def key_not_text(message: Message) -> None:
    # A photo or file may carry the key in its caption, or show it: it goes at once too.
    await delete_at_once(message)
    await message.answer(_("Send the key as plain text, in a message of its own, or /cancel."))


async def menu_button(message: Message, state: FSMContext) -> None:
    # Pressing a main-menu button gives up connecting: the question closes, so the next text
    # is not taken for a key, and the button's own handler (in a later router) serves it.
    await state.clear()
    raise SkipHandler


async def _check_and_store(
    message: Message,
    text: str,
    state: FSMContext,
    settings: Settings,
    accounts: AccountResolver,
    keys: KeyRepository,
    catalog: CatalogService,
) -> None:
    # The key must not stay in the chat history, whatever happens next.
    await delete_at_once(message)
    key = text.strip()
    if not key or len(key) > MAX_KEY_LENGTH or any(c.isspace() for c in key):
        await message.answer(_("This does not look like an API key. Send the key alone."))
        return
    candidate = accounts.candidate(key)
    try:
        async with panel_wait(message, settings):
            balance = await candidate.panel.balance()
    except InvalidKey:
        await message.answer(
            _("The panel does not accept this key. Check it and send it again, or /cancel.")
        )
        return
    except PanelError as exc:
        await state.clear()
        await message.answer(panel_failure(exc) + "\n" + _("Try /connect again later."))
        return
    assert message.from_user is not None
    await keys.set(message.from_user.id, key)
    await catalog.invalidate(candidate.label)
    await state.clear()
    await message.answer(
        _("Connected. Your balance: {balance}").format(
            balance=money(balance.balance, balance.currency)
        ),
        reply_markup=menus.main_menu(),
    )


async def disconnect(
    message: Message, state: FSMContext, settings: Settings, keys: KeyRepository
) -> None:
    if settings.shared_key_mode:
        await message.answer(_("This bot uses its operator's panel account: nothing to connect."))
        return
    assert message.from_user is not None
    await state.clear()
    removed = await keys.delete(message.from_user.id)
    await message.answer(
        _("Disconnected: your key is deleted.") if removed else _("No key is connected.")
    )


def create_router() -> Router:
    """A new router each time: a router can belong to one Dispatcher only."""
    router = Router(name="connect")
    router.message(Command("connect"))(connect)
    # A command or a main-menu button is never taken for the key: it must not reach the panel,
    # nor be deleted. A command leaves the question open; a button closes it.
    router.message(ConnectForm.key, F.text, ~F.text.startswith("/"), is_answer)(key_received)
    router.message(ConnectForm.key, F.text, is_menu_button)(menu_button)
    router.message(ConnectForm.key, ~F.text)(key_not_text)
    router.message(Command("disconnect"))(disconnect)
    return router
