"""Counts the updates being handled, so a stop can let them finish before closing anything.

Counted from the very first step of the update's handling (the Dispatcher's `feed_update`),
before aiogram's own middlewares wait for the person's lock or the conversation state: an
update the runner has taken is always counted, and its error handlers are counted with it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update


class InFlight:
    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()
        # The tasks handling updates, so that a stop can cut off those that outlive the grace.
        self._tasks: Counter[asyncio.Task[Any]] = Counter()

    def enter(self) -> None:
        task = asyncio.current_task()
        self._count += 1
        self._idle.clear()
        if task is not None:
            self._tasks[task] += 1

    def leave(self) -> None:
        task = asyncio.current_task()
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


class CountingDispatcher(Dispatcher):
    """A Dispatcher whose every update, however it arrives, is counted in `inflight`."""

    def __init__(self, *, inflight: InFlight, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inflight = inflight

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        self.inflight.enter()
        try:
            return await super().feed_update(bot, update, **kwargs)
        finally:
            self.inflight.leave()
