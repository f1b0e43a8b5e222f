"""Outbound message queue: pushes in order per chat, with failures turned into drops or retries.

Notifications are pushed: nobody waits on them, so they are queued, kept FIFO per chat (one in
flight per chat, so a chat with many messages never holds up the others) and handed to a send
function. Telegram's sending limits are kept below the queue, by the one limiter every message
of the bot goes through (``bot.telegram.limiter``), which also waits out 429 answers; the
queue only says how urgent its messages are (``Priority``). It knows nothing of aiogram: the
send function (see ``bot.telegram.sender``) translates Telegram's errors into the exceptions
below.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

logger = logging.getLogger(__name__)

Callback = Callable[[], Awaitable[None]]


class Priority(IntEnum):
    """Who goes first when messages wait for Telegram's limits (lowest value first)."""

    ANSWER = 0  # a person who may use the bot is waiting for this reply
    NOTIFICATION = 1  # news about a person's orders, and alerts to admins
    BULK = 2  # may wait: refusals to strangers, sends to many people at once


class ChatUnreachable(Exception):
    """The chat cannot receive messages: the person blocked the bot or the chat is gone."""


class PermanentFailure(Exception):
    """Sending again would fail the same way or could show the message twice: give it up."""


class OutcomeUnknown(PermanentFailure):
    """The request may have reached Telegram (the answer was lost): the message may have been
    shown, so it is given up, and ``on_outcome_unknown`` lets its sender count it as sent."""


@dataclass
class Outgoing:
    """A message to deliver; ``on_sent`` runs after Telegram accepted it, ``on_failed`` when it
    is given up (permanent failure or retries exhausted), ``on_unreachable`` when it is dropped
    because its chat cannot receive messages (``on_failed`` when that is unset), and
    ``on_outcome_unknown`` when it is given up after ``OutcomeUnknown`` (``on_failed`` when
    that is unset)."""

    chat_id: int
    text: str
    reply_markup: Any = None
    priority: Priority = Priority.NOTIFICATION
    on_sent: Callback | None = None
    on_failed: Callback | None = None
    on_unreachable: Callback | None = None
    on_outcome_unknown: Callback | None = None

    @property
    def on_dropped(self) -> Callback | None:
        return self.on_unreachable or self.on_failed


SendFn = Callable[[Outgoing], Awaitable[None]]


@dataclass
class DeliveryStats:
    sent: int = 0
    retried: int = 0  # attempts repeated after a transient error
    blocked: int = 0  # chats found unreachable
    dropped: int = 0  # messages not sent because their chat is unreachable
    failed: int = 0  # messages given up after errors


@dataclass
class _Chat:
    chat_id: int
    pending: deque[Outgoing] = field(default_factory=deque)
    next_at: float = 0.0  # earliest start of the next attempt (after a failed one)
    attempts: int = 0  # failed attempts of the message at the head
    busy: bool = False
    scheduled: bool = False
    unreachable: bool = False


class OutboundQueue:
    """Delivers messages in order within each chat, at most ``concurrency`` at once.

    The send function is expected to wait for Telegram's limits (the bot's limiter does);
    ``concurrency`` only bounds how many messages wait there at once, and must be above what
    the limiter lets through in the time one send takes for the queue to keep up with it.
    """

    def __init__(
        self,
        send: SendFn,
        *,
        on_blocked: Callable[[int], Awaitable[None]] | None = None,
        max_attempts: int = 3,
        retry_backoff: float = 1.0,
        concurrency: int = 100,
    ) -> None:
        if max_attempts < 1 or concurrency < 1:
            raise ValueError("attempts and concurrency must be positive")
        self._send = send
        self._on_blocked = on_blocked
        self._max_attempts = max_attempts
        self._retry_backoff = retry_backoff
        self._concurrency = concurrency
        self.stats = DeliveryStats()
        self._chats: dict[int, _Chat] = {}
        self._prune_at = 1024
        self._ready: list[tuple[float, int, int]] = []  # (next_at, arrival order, chat_id)
        self._order = itertools.count()
        self._sending = 0
        self._unfinished = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._wakeup = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def pending(self) -> int:
        """Messages queued or being sent."""
        return self._unfinished

    async def start(self) -> None:
        if self._closed:
            raise RuntimeError("OutboundQueue is stopped")
        if self._worker is None:
            self._worker = asyncio.create_task(self._run(), name="outbound-queue")

    async def stop(self, drain: bool = True, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Stop sending; with ``drain``, first wait up to ``timeout`` s for the queue to empty."""
        self._closed = True
        if drain and self._worker is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._idle.wait()
        tasks = [task for task in (self._worker, *self._tasks) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._worker = None
        if self._unfinished:
            logger.warning("outbound queue stopped with %d messages undelivered", self._unfinished)

    async def put(self, message: Outgoing) -> None:
        if self._closed:
            raise RuntimeError("OutboundQueue is stopped")
        chat = self._chats.get(message.chat_id)
        if chat is None:
            if len(self._chats) >= self._prune_at:
                self._prune()
            chat = self._chats[message.chat_id] = _Chat(message.chat_id)
        if chat.unreachable:
            self.stats.dropped += 1
            await _run_callback(message.on_dropped, "on_unreachable", message.chat_id)
            return
        chat.pending.append(message)
        self._unfinished += 1
        self._idle.clear()
        self._schedule(chat)

    async def join(self) -> None:
        """Wait until every queued message was delivered or given up."""
        await self._idle.wait()

    def unblock(self, chat_id: int) -> None:
        """Accept messages for a chat found unreachable again (the person came back)."""
        chat = self._chats.get(chat_id)
        if chat is not None:
            chat.unreachable = False

    # scheduling

    def _schedule(self, chat: _Chat) -> None:
        if chat.busy or chat.scheduled or chat.unreachable or not chat.pending:
            return
        heapq.heappush(self._ready, (chat.next_at, next(self._order), chat.chat_id))
        chat.scheduled = True
        self._wakeup.set()

    def _delay(self) -> float | None:
        """Seconds until the next send may start; None while only an event can change that."""
        if not self._ready or self._sending >= self._concurrency:
            return None
        return self._ready[0][0] - time.monotonic()

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()
            delay = self._delay()
            if delay is None or delay > 0:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel
                # that arrives as the event fires, and stop() would then hang.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wakeup.wait()
                continue
            chat = self._chats[heapq.heappop(self._ready)[2]]
            chat.scheduled = False
            message = chat.pending.popleft()
            chat.busy = True
            self._sending += 1
            task = asyncio.create_task(self._deliver(chat, message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _prune(self) -> None:
        # Idle chats whose retry pause has passed carry no state worth keeping.
        now = time.monotonic()
        self._chats = {
            chat_id: chat
            for chat_id, chat in self._chats.items()
            if chat.pending or chat.busy or chat.unreachable or chat.next_at > now
        }
        self._prune_at = max(1024, 2 * len(self._chats))

    # delivery

    async def _deliver(self, chat: _Chat, message: Outgoing) -> None:
        finished = 0
        hold = 0.0
        try:
            try:
                await self._send(message)
                error: Exception | None = None
            except Exception as failure:  # every failure is classified by the send function
                error = failure
            finally:
                self._sending -= 1
            if error is None:
                chat.attempts = 0
                self.stats.sent += 1
                finished = 1
                await _run_callback(message.on_sent, "on_sent", chat.chat_id)
            elif isinstance(error, ChatUnreachable):
                finished = await self._drop_chat(chat, message)
            else:
                chat.attempts += 1
                logger.warning(
                    "sending to chat %s failed (%s), attempt %d",
                    chat.chat_id,
                    type(error).__name__,
                    chat.attempts,
                )
                if isinstance(error, PermanentFailure) or chat.attempts >= self._max_attempts:
                    chat.attempts = 0
                    self.stats.failed += 1
                    finished = 1
                    if isinstance(error, OutcomeUnknown) and message.on_outcome_unknown:
                        await _run_callback(
                            message.on_outcome_unknown, "on_outcome_unknown", chat.chat_id
                        )
                    else:
                        await _run_callback(message.on_failed, "on_failed", chat.chat_id)
                else:
                    self.stats.retried += 1
                    chat.pending.appendleft(message)
                    hold = self._retry_backoff * 2 ** (chat.attempts - 1)
        finally:
            chat.busy = False
            chat.next_at = time.monotonic() + hold
            self._finish(finished)
            self._schedule(chat)
            self._wakeup.set()

    async def _drop_chat(self, chat: _Chat, message: Outgoing) -> int:
        chat.unreachable = True
        dropped = [message, *chat.pending]
        chat.pending.clear()
        self.stats.blocked += 1
        self.stats.dropped += len(dropped)
        logger.info("chat %s is unreachable: %d messages dropped", chat.chat_id, len(dropped))
        if self._on_blocked is not None:
            on_blocked = self._on_blocked
            await _run_callback(lambda: on_blocked(chat.chat_id), "on_blocked", chat.chat_id)
        for item in dropped:
            await _run_callback(item.on_dropped, "on_unreachable", chat.chat_id)
        return len(dropped)

    def _finish(self, count: int) -> None:
        self._unfinished -= count
        if self._unfinished == 0:
            self._idle.set()


async def _run_callback(callback: Callback | None, name: str, chat_id: int) -> None:
    if callback is None:
        return
    try:
        await callback()
    except Exception:
        # A failing callback (e.g. a database write) must not stop deliveries to anyone.
        logger.exception("delivery %s callback failed for chat %s", name, chat_id)
