"""Edits a broadcast's progress message in the admin's chat, in the admin's language."""

from __future__ import annotations

import contextlib

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest

from bot.broadcasts import Broadcast, BroadcastState, Progress
from bot.i18n import CatalogI18n
from bot.keyboards.console import cancel_broadcast
from bot.services.delivery import Priority
from bot.storage.repositories import UserRepository
from bot.telegram.limiter import sending_at
from bot.views.broadcast import progress_text


class ProgressReporter:
    def __init__(self, bot: Bot, i18n: CatalogI18n, users: UserRepository) -> None:
        self._bot = bot
        self._i18n = i18n
        self._users = users

    async def __call__(self, broadcast: Broadcast, progress: Progress) -> None:
        if broadcast.progress_chat_id is None or broadcast.progress_message_id is None:
            return
        admin = await self._users.get(broadcast.admin_id)
        language = admin.language if admin and admin.language else self._i18n.default_locale
        with self._i18n.context(), self._i18n.use_locale(language):
            text = progress_text(progress, broadcast.state)
            running = broadcast.state is BroadcastState.RUNNING
            markup = cancel_broadcast(broadcast.id) if running else None
        # "message is not modified": nothing changed since the last edit.
        with contextlib.suppress(TelegramBadRequest), sending_at(Priority.NOTIFICATION):
            await self._bot.edit_message_text(
                text=text,
                chat_id=broadcast.progress_chat_id,
                message_id=broadcast.progress_message_id,
                reply_markup=markup,
            )
