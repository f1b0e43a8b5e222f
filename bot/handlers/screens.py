"""Showing a screen: a new message for a typed command, an edit in place for a button press."""

from __future__ import annotations

import contextlib
import re

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, ReplyKeyboardMarkup

from bot.keyboards import menus
from bot.views.markup import fit

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | None

_COMMAND = re.compile(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?(?:\s|$)")


def is_answer(message: Message) -> bool:
    """Text typed in reply to a question, not a command or a main-menu button.

    Those leave the question open and go to their own handlers: a person is never stuck in a
    conversation they cannot leave by the usual means.
    """
    text = message.text or ""
    if _COMMAND.match(text):
        return False
    return text not in {str(label) for label in menus.MENU_LABELS}


async def show(event: Message | CallbackQuery, text: str, markup: Markup = None) -> None:
    text = fit(text)
    if isinstance(event, Message):
        await event.answer(text, reply_markup=markup)
        return
    message = event.message
    if isinstance(message, Message) and not isinstance(markup, ReplyKeyboardMarkup):
        try:
            await message.edit_text(text, reply_markup=markup)
        except TelegramBadRequest as exc:
            # A repeated press shows the same screen: Telegram refuses the no-op edit.
            if "not modified" not in exc.message:
                raise
    elif message is not None:
        await event.bot.send_message(message.chat.id, text, reply_markup=markup)  # type: ignore[union-attr]
    await event.answer()


async def reply(event: Message | CallbackQuery, text: str, markup: Markup = None) -> None:
    """A new message below, keeping the screen the button was on."""
    text = fit(text)
    if isinstance(event, Message):
        await event.answer(text, reply_markup=markup)
        return
    if event.message is not None:
        await event.bot.send_message(event.message.chat.id, text, reply_markup=markup)  # type: ignore[union-attr]
    await event.answer()


async def remove_buttons(callback: CallbackQuery) -> None:
    """Take the buttons off the message pressed; already gone (a second press) is no error."""
    if isinstance(callback.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await callback.message.edit_reply_markup(reply_markup=None)
