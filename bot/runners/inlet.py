"""The one public way into the Dispatcher: feed an update, await its handling.

The webhook server answers Telegram only once `feed` returns, so an update whose handling a
crash cut off is delivered again; tests and the sandbox settle through the same path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update


class UpdateInlet:
    def __init__(self, dp: Dispatcher, bot: Bot) -> None:
        self._dp = dp
        self._bot = bot

    def parse(self, data: Mapping[str, Any]) -> Update:
        """An update from its JSON; pydantic's ValidationError if it is not one."""
        return Update.model_validate(dict(data), context={"bot": self._bot})

    async def feed(self, update: Update) -> None:
        """Handle one update to the end, error handlers included."""
        await self._dp.feed_update(self._bot, update)
