"""Buttons of the operator's console (callback data well within Telegram's 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import _


class BroadcastStep(CallbackData, prefix="bc"):
    """A choice in the /broadcast conversation: ``action`` is a step, ``value`` its choice."""

    action: str
    value: str = ""


class CancelBroadcast(CallbackData, prefix="bx"):
    id: int


def _button(text: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=BroadcastStep(action=action, value=value).pack()
    )


def button_choice() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("Add a link button"), "button"), _button(_("No button"), "nobutton")]
        ]
    )


def segments(languages: tuple[str, ...], *, shop: bool) -> InlineKeyboardMarkup:
    rows = [
        [_button(_("Everyone"), "segment", "all")],
        [_button(_("Ordered in the last 30 days"), "segment", "recent")],
    ]
    if shop:  # only a shop has wallets
        rows.append([_button(_("Money in their wallet"), "segment", "wallet")])
    rows += [
        [_button(_("Language: {language}").format(language=code), "segment", f"lang-{code}")]
        for code in languages
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def confirm() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[_button(_("Send to them"), "confirm"), _button(_("Cancel"), "abort")]]
    )


def cancel_broadcast(broadcast_id: int) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        text=_("Cancel the broadcast"), callback_data=CancelBroadcast(id=broadcast_id).pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])
