"""Counts updates being handled, so shutdown can let them finish before closing anything."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject


class InFlightMiddleware(BaseMiddleware):
    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        self._count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def drained(self, within: float) -> bool:
        """Wait until no update is being handled; False if `within` seconds passed first."""
        try:
            async with asyncio.timeout(within):
                # Looping, not waiting once: a failed update's error handler starts right as
                # the update itself ends, before a waiter woken by that end gets to run.
                while self._count:
                    await self._idle.wait()
        except TimeoutError:
            return False
        return True
