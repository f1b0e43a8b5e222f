"""How a broadcast reads to the admin (preview, progress) and its one URL button."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.broadcasts import BroadcastState, Content, Progress
from bot.i18n import _, format_number


def content_markup(content: Content) -> InlineKeyboardMarkup | None:
    if content.button_label is None or content.button_url is None:
        return None
    button = InlineKeyboardButton(text=content.button_label, url=content.button_url)
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def progress_text(progress: Progress, state: BroadcastState) -> str:
    head = {
        BroadcastState.RUNNING: _("<b>Broadcast in progress</b>"),
        BroadcastState.CANCELLED: _("<b>Broadcast cancelled</b>"),
        BroadcastState.FINISHED: _("<b>Broadcast finished</b>"),
    }[state]
    counts = _("Sent: {sent} · blocked the bot: {blocked} · failed: {failed} · left: {left}")
    return (
        head
        + "\n"
        + counts.format(
            sent=format_number(progress.sent),
            blocked=format_number(progress.blocked),
            failed=format_number(progress.failed),
            left=format_number(progress.left),
        )
    )
