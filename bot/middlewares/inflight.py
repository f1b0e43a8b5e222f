"""Counts updates being handled, so shutdown can let them finish before closing anything."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject


class InFlightMiddleware(BaseMiddleware):
    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()
        # The tasks handling updates (an update and its error handlers share one task).
        self._tasks: Counter[asyncio.Task[Any]] = Counter()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        task = asyncio.current_task()
        self._count += 1
        self._idle.clear()
        if task is not None:
            self._tasks[task] += 1
        try:
            return await handler(event, data)
        finally:
            if task is not None:
                self._tasks[task] -= 1
                if self._tasks[task] <= 0:
                    del self._tasks[task]
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

    async def cancel_remaining(self, within: float) -> bool:
        """Cut off the updates still being handled, and wait for their clean-up (shielded
        bookkeeping such as marking an order's outcome unknown); False if some outlived it."""
        for task in list(self._tasks):
            task.cancel()
        return await self.drained(within)
