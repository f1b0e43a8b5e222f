"""The worker's look at open Crypto Pay invoices every few seconds: paid ones are credited,
expired ones marked (bot.services.topups.TopupService.poll_invoices). Also the only way paid
invoices are found when no webhook reaches the bot (polling mode, a webhook outage)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class InvoicePoller:
    def __init__(self, poll: Callable[[], Awaitable[None]], interval: float) -> None:
        self._poll = poll
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="invoice-poller")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._poll()
            except Exception:
                # One bad cycle (the database away) must not end polling for good.
                log.exception("invoice poll failed; trying again next cycle")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)
