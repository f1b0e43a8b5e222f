"""Broadcasts: one message to many people, through the outbound queue at BULK priority.

Every recipient is a row with a state written compare-and-set: ``pending`` → ``claimed``
(written before the message is handed to the queue) → ``sent`` / ``blocked`` / ``failed``.
A recipient is claimed once, so nobody gets the message twice, across restarts and
instances: a claim left by a stopped process is never sent again (``failed``), since the
message may have reached Telegram. The runner claims a small window at a time, so a stop
leaves at most that window undecided, and the queue keeps room for order notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bot.broadcasts import (
    Audience,
    Broadcast,
    BroadcastState,
    Content,
    Outcome,
    Progress,
)
from bot.services.delivery import OutboundQueue, Outgoing, Priority

log = logging.getLogger(__name__)

# Below the queue's concurrency (100): notifications always find a free slot.
WINDOW = 40
PROGRESS_SECONDS = 3.0  # the progress message is edited at most this often
POLL_SECONDS = 2.0  # how often broadcasts launched by another process are looked for
STOP_SECONDS = 3.0  # how long a stop waits for the claimed window to be decided


class BroadcastStore(Protocol):
    """The database side (``bot.storage.console`` on SQLite or PostgreSQL)."""

    async def count_audience(self, audience: Audience, *, since: float) -> int: ...

    async def create(
        self, admin_id: int, content: Content, audience: Audience, *, since: float
    ) -> Broadcast:
        """A running broadcast with one pending recipient per person of the audience."""

    async def set_progress_message(
        self, broadcast_id: int, chat_id: int, message_id: int
    ) -> None: ...

    async def get(self, broadcast_id: int) -> Broadcast | None: ...

    async def running(self) -> list[Broadcast]: ...

    async def claim(self, broadcast_id: int, limit: int) -> list[int]:
        """Up to ``limit`` pending recipients, now claimed (pending → claimed)."""

    async def settle(self, broadcast_id: int, chat_id: int, outcome: Outcome) -> bool:
        """claimed → ``outcome``; False if the recipient was not claimed."""

    async def abandon_claims(self, broadcast_id: int) -> int:
        """Claims left by a process that stopped → failed (they may have been sent)."""

    async def progress(self, broadcast_id: int) -> Progress: ...

    async def finish(self, broadcast_id: int, state: BroadcastState) -> bool:
        """running → ``state``; False if it had already ended."""


Report = Callable[[Broadcast, Progress], Awaitable[None]]
Render = Callable[[Content], Any]  # the reply markup of a content (its URL button)


class Broadcaster:
    """Runs every running broadcast to its end; started by the worker, so one per database."""

    def __init__(
        self,
        store: BroadcastStore,
        queue: OutboundQueue,
        *,
        markup: Render,
        report: Report,
        window: int = WINDOW,
        progress_seconds: float = PROGRESS_SECONDS,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._store = store
        self._queue = queue
        self._markup = markup
        self._report = report
        self._window = window
        self._progress_seconds = progress_seconds
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._runs: dict[int, asyncio.Task[None]] = {}

    # --- what the console asks -----------------------------------------------------------------

    async def audience_size(self, audience: Audience) -> int:
        return await self._store.count_audience(audience, since=_month_ago())

    async def launch(self, admin_id: int, content: Content, audience: Audience) -> Broadcast:
        return await self._store.create(admin_id, content, audience, since=_month_ago())

    async def track_progress(self, broadcast_id: int, chat_id: int, message_id: int) -> None:
        """The message the runner edits; then wakes the runner up."""
        await self._store.set_progress_message(broadcast_id, chat_id, message_id)
        self._wake.set()

    async def cancel(self, broadcast_id: int) -> bool:
        """Stop sending; the messages already claimed are still decided."""
        cancelled = await self._store.finish(broadcast_id, BroadcastState.CANCELLED)
        self._wake.set()
        return cancelled

    # --- the runner ------------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="broadcaster")

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    for broadcast in await self._store.running():
                        if broadcast.id not in self._runs:
                            self._spawn(broadcast)
                except Exception:
                    log.exception("broadcasts: cannot read the running broadcasts")
                self._wake.clear()
                if self._stopping.is_set():
                    # A stop that came during the read above: its wake-up was just cleared.
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_seconds):
                        await self._wake.wait()
        finally:
            runs = list(self._runs.values())
            await asyncio.gather(*runs, return_exceptions=True)

    def _spawn(self, broadcast: Broadcast) -> None:
        task = asyncio.create_task(self._guarded(broadcast), name=f"broadcast-{broadcast.id}")
        self._runs[broadcast.id] = task
        task.add_done_callback(lambda _t: self._runs.pop(broadcast.id, None))

    async def _guarded(self, broadcast: Broadcast) -> None:
        try:
            await self._deliver(broadcast)
        except Exception:
            # The database failed: the next look for running broadcasts picks it up again.
            log.exception("broadcast %d: delivery interrupted", broadcast.id)

    async def _deliver(self, broadcast: Broadcast) -> None:
        store = self._store
        abandoned = await store.abandon_claims(broadcast.id)
        if abandoned:
            log.warning(
                "broadcast %d: %d claims of a stopped run not resent", broadcast.id, abandoned
            )
        run = _Run(store, self._queue, self._report, broadcast, self._markup(broadcast.content))
        try:
            while not self._stopping.is_set():
                current = await store.get(broadcast.id)
                if current is None or current.state is not BroadcastState.RUNNING:
                    break
                broadcast = current  # the progress message may have been set meanwhile
                claimed = await store.claim(broadcast.id, self._window - run.outstanding)
                if not claimed and run.outstanding == 0:
                    await store.finish(broadcast.id, BroadcastState.FINISHED)
                    break
                for chat_id in claimed:
                    await run.put(chat_id)
                await run.changed(self._progress_seconds)
                await run.maybe_report(broadcast, self._progress_seconds)
        finally:
            await run.drain(STOP_SECONDS)
            final = await store.get(broadcast.id)
            if final is not None:
                await run.report(final)


class _Run:
    """One broadcast being delivered by this process: its window of claimed recipients."""

    def __init__(
        self,
        store: BroadcastStore,
        queue: OutboundQueue,
        report: Report,
        broadcast: Broadcast,
        markup: Any,
    ) -> None:
        self._store = store
        self._queue = queue
        self._report = report
        self._markup = markup
        self._content = broadcast.content
        self._id = broadcast.id
        self.outstanding = 0
        self._changed = asyncio.Event()
        self._reported_at = time.monotonic()

    async def put(self, chat_id: int) -> None:
        self.outstanding += 1
        content = self._content

        def settle(outcome: Outcome) -> Callable[[], Awaitable[None]]:
            async def done() -> None:
                try:
                    await self._store.settle(self._id, chat_id, outcome)
                finally:
                    self.outstanding -= 1
                    self._changed.set()

            return done

        failed = settle(Outcome.FAILED)
        await self._queue.put(
            Outgoing(
                chat_id=chat_id,
                text=content.html,
                photo=content.photo,
                reply_markup=self._markup,
                priority=Priority.BULK,
                on_sent=settle(Outcome.SENT),
                on_failed=failed,
                on_unreachable=settle(Outcome.BLOCKED),
                # It may have been shown: never resent, counted with the failures.
                on_outcome_unknown=failed,
            )
        )

    async def changed(self, within: float) -> None:
        """Wait until a message of the window is decided (or ``within`` seconds pass)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._changed.wait()
        self._changed.clear()

    async def drain(self, within: float) -> None:
        deadline = time.monotonic() + within
        while self.outstanding and time.monotonic() < deadline:
            await self.changed(deadline - time.monotonic())

    async def maybe_report(self, broadcast: Broadcast, every: float) -> None:
        if time.monotonic() - self._reported_at >= every:
            await self.report(broadcast)

    async def report(self, broadcast: Broadcast) -> None:
        self._reported_at = time.monotonic()
        try:
            progress = await self._store.progress(broadcast.id)
            await self._report(broadcast, progress)
        except Exception:
            # The progress message is a courtesy: delivery goes on without it.
            log.exception("broadcast %d: cannot report progress", broadcast.id)


def _month_ago() -> float:
    return time.time() - 30 * 86400
