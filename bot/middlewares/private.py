"""The bot works in private chats only: in a group it says so once and keeps keys out of it.

An outer middleware on updates, before the allow-list and everything else: in a group,
`/balance` or `/orders` would show one person's account to every member.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.enums import ChatType
from aiogram.types import Chat, Message, TelegramObject, Update, User

from bot.i18n import CatalogI18n, _, normalize_language
from bot.telegram.key_messages import delete_at_once, may_hold_key

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

NOTICE_EVERY_SECONDS = 3600.0
REMEMBERED_CHATS = 10_000


class PrivateChatsOnly(BaseMiddleware):
    def __init__(self, i18n: CatalogI18n, clock: Callable[[], float] = time.monotonic) -> None:
        self._i18n = i18n
        self._clock = clock
        self._told: OrderedDict[int, float] = OrderedDict()  # group chat -> when it was told

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        chat: Chat | None = data.get("event_chat")
        if chat is None or chat.type == ChatType.PRIVATE:
            return await handler(event, data)
        user: User | None = data.get("event_from_user")
        code = user.language_code if user is not None else None
        language = normalize_language(code, self._i18n.languages, self._i18n.default_locale)
        with self._i18n.context(), self._i18n.use_locale(language):
            await self._guard(event, chat)
        return None

    async def _guard(self, event: Update, chat: Chat) -> None:
        if event.callback_query is not None:
            await event.callback_query.answer(_("I work in private chats only."))
        message = event.message
        if message is not None and _addressed_to_bot(message):
            if may_hold_key(message, None):
                await delete_at_once(message)
            if self._should_tell(chat.id):
                await message.answer(
                    _("I work in private chats only: write to me directly."),
                    disable_notification=True,
                )

    def _should_tell(self, chat_id: int) -> bool:
        """At most one notice per group per hour, whatever its members send."""
        now = self._clock()
        told = self._told.get(chat_id)
        if told is not None and now - told < NOTICE_EVERY_SECONDS:
            return False
        self._told[chat_id] = now
        self._told.move_to_end(chat_id)
        while len(self._told) > REMEMBERED_CHATS:
            self._told.popitem(last=False)
        return True


def _addressed_to_bot(message: Message) -> bool:
    # Commands only: ordinary chatter in a group the bot was added to gets no answer.
    return (message.text or message.caption or "").startswith("/")
