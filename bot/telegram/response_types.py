"""Keeps the pydantic model aiogram parses each Bot API answer with, `Response[T]`, alive.

aiogram names `Response[method.__returning__]` at every call; pydantic keeps the generic
models it built only weakly, so once no call in flight holds one, the next garbage collection
frees it and the next call builds it anew: about 10 ms of schema building, in the middle of
answering someone (it was a sixth of the bot's time answering /help). Holding each model met
keeps one per return type for the process's life: a few dozen at most.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import Response
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import TelegramMethod


class KeepResponseTypes(BaseRequestMiddleware):
    def __init__(self) -> None:
        self._kept: dict[Any, type[Response[Any]]] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in self._kept:
            self._kept[returning] = Response[returning]  # type: ignore[valid-type]
        return await make_request(bot, method)
