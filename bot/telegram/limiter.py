"""One send limiter for everything the bot says, with priorities.

Telegram allows about 30 messages a second overall and one a second per chat; going faster
earns 429 answers and, repeated, longer bans. Every message goes through one ``SendLimiter``
(see ``bot.telegram.retry``), so replies, notifications and refusals share one budget, and
what people are waiting for is sent first: a waiting answer always goes before a waiting
notification, which goes before a refusal to a stranger or a bulk send.

Limits are counted from the end of the previous send, not its start: Telegram counts a message
when it arrives, so network jitter can never push two sends into one window. The limiter knows
nothing of aiogram; it schedules with the event loop's timers, without a task of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import Enum

from bot.services.delivery import Priority

logger = logging.getLogger(__name__)

# Unset means an answer: handlers run in the dispatcher's context and reply without saying so;
# pushes and refusals mark themselves lower.
_priority: ContextVar[Priority] = ContextVar("send_priority", default=Priority.ANSWER)


@contextlib.contextmanager
def sending_at(priority: Priority) -> Iterator[None]:
    """Bot API calls made inside the block wait for a send slot of ``priority``."""
    token = _priority.set(priority)
    try:
        yield
    finally:
        _priority.reset(token)


def current_priority() -> Priority:
    return _priority.get()


class Budget(Enum):
    """What a call costs."""

    MESSAGE = "message"  # a new message in a chat: the global rate and the chat's interval
    EDIT = "edit"  # changes a message: the global rate only
    FREE = "free"  # no message (callback answers, deletions...): waits out a flood pause only


class SendingStopped(Exception):
    """The limiter was closed (the bot is stopping): nothing more is sent."""


@dataclass(eq=False)
class _Waiter:
    priority: Priority
    budget: Budget
    chat_id: int | str | None
    granted: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class SendLimiter:
    """Grants send slots at most ``per_second`` overall and one per ``per_chat_interval``
    seconds per chat, highest priority first and in arrival order within a priority.

    A 429 (``flooded``) pauses every call for ``retry_after`` and cuts the rate by
    ``slowdown``; the rate then climbs back to ``per_second`` over ``recovery_seconds``.
    """

    _WINDOW = 1.0  # seconds over which Telegram counts the global limit

    def __init__(
        self,
        per_second: float = 30.0,
        per_chat_interval: float = 1.0,
        *,
        slowdown: float = 0.5,
        recovery_seconds: float = 60.0,
    ) -> None:
        if per_second <= 0 or per_chat_interval < 0 or recovery_seconds <= 0:
            raise ValueError("rates and intervals must be positive")
        if not 0 < slowdown <= 1:
            raise ValueError("slowdown must be in (0, 1]")
        self._max_rate = per_second
        self._per_chat_interval = per_chat_interval
        self._slowdown = slowdown
        self._recovery = recovery_seconds
        self._slowed_to = per_second  # the rate right after the last cut
        self._slowed_at = 0.0  # (at full rate, when does not matter)
        self._waiting: dict[Priority, deque[_Waiter]] = {p: deque() for p in Priority}
        self._free: list[_Waiter] = []
        self._in_flight = 0  # granted calls that cost the global rate, not yet finished
        self._releases: deque[float] = deque()  # when finished sends leave the global window
        self._next_slot = 0.0  # evenly spaced starts at the current rate
        self._pause_until = 0.0
        self._chats_busy: set[int | str] = set()
        self._chat_next: dict[int | str, float] = {}  # earliest start of the next message per chat
        self._prune_at = 1024
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self.floods = 0  # 429 answers reported

    @property
    def rate(self) -> float:
        """Messages a second allowed now: lowered by 429s, recovering linearly."""
        if self._slowed_to >= self._max_rate:
            return self._max_rate  # not slowed (asked twice a send): no clock needed
        elapsed = time.monotonic() - self._slowed_at
        climbed = self._slowed_to + (self._max_rate - self._slowed_to) * elapsed / self._recovery
        if climbed >= self._max_rate:
            self._slowed_to = self._max_rate  # recovered: as if never slowed
            return self._max_rate
        return climbed

    @property
    def paused_for(self) -> float:
        """Seconds left of the pause Telegram asked for (0 when not paused)."""
        return max(0.0, self._pause_until - time.monotonic())

    @property
    def waiting(self) -> int:
        return sum(len(queue) for queue in self._waiting.values()) + len(self._free)

    def slot(self, budget: Budget, chat_id: int | str | None) -> Slot:
        """``async with limiter.slot(...)``: wait for a slot of the current priority; the call
        is made inside the block."""
        return Slot(self, budget, chat_id)

    async def _acquire(self, budget: Budget, chat_id: int | str | None) -> _Waiter | None:
        """The slot granted (None: a free call, which holds none)."""
        if self._closed:
            raise SendingStopped
        if budget is Budget.FREE and self._pause_until <= time.monotonic():
            # Holds no slot and waits out a flood pause only: with none, nothing to queue for
            # (every button press is answered so).
            return None
        waiter = _Waiter(current_priority(), budget, chat_id if budget is Budget.MESSAGE else None)
        if budget is Budget.FREE:
            self._free.append(waiter)
        else:
            self._waiting[waiter.priority].append(waiter)
        self._dispatch()
        try:
            await waiter.granted
        except asyncio.CancelledError:
            granted = waiter.granted
            if granted.done() and not granted.cancelled() and granted.exception() is None:
                self._release(waiter)  # granted just as it was cancelled: give the slot back
            else:
                self._forget(waiter)
            raise
        return waiter

    def flooded(self, retry_after: float) -> None:
        """Telegram answered 429: hold every call for ``retry_after`` s and slow down."""
        self.floods += 1
        now = time.monotonic()
        if self._pause_until <= now:
            # Once per pause: the other sends in flight of the same burst are refused too.
            self._slowed_to = max(self._max_rate / 30, self.rate * self._slowdown)
            self._slowed_at = now
        self._pause_until = max(self._pause_until, now + retry_after)
        self._dispatch()

    def close(self) -> None:
        """Refuse every waiting and future call with ``SendingStopped``."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        waiters = [*self._free, *(w for queue in self._waiting.values() for w in queue)]
        self._free.clear()
        for queue in self._waiting.values():
            queue.clear()
        for waiter in waiters:
            if not waiter.granted.done():
                waiter.granted.set_exception(SendingStopped())

    # scheduling

    def _dispatch(self) -> None:
        """Grant every slot that may start now; arm a timer for the next one that may not."""
        if self._closed:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        now = time.monotonic()
        if self._pause_until > now:
            if self.waiting:
                self._wake_at(self._pause_until)
            return
        for waiter in self._free:
            self._grant(waiter)
        self._free.clear()
        while True:
            start_at = self._global_start(now)
            if start_at is None:
                return  # the window is full of sends in flight: a release dispatches again
            if start_at > now:
                self._wake_at(start_at)
                return
            waiter, chat_at = self._pick(now)
            if waiter is None:
                if chat_at is not None:
                    self._wake_at(chat_at)
                return
            self._waiting[waiter.priority].remove(waiter)
            self._start(waiter, now)

    def _global_start(self, now: float) -> float | None:
        """When the next send may start as far as the global rate goes; None: after a release."""
        if not any(self._waiting.values()):
            return None
        while self._releases and self._releases[0] <= now:
            self._releases.popleft()
        window_at = now
        if self._in_flight + len(self._releases) >= max(1, math.floor(self.rate * self._WINDOW)):
            if not self._releases:
                return None
            window_at = self._releases[0]
        return max(self._next_slot, window_at)

    def _pick(self, now: float) -> tuple[_Waiter | None, float | None]:
        """The first waiter, by priority then arrival, whose chat may get a message now; else
        when the earliest of the waiting chats may (None while they all have one in flight)."""
        soonest: float | None = None
        # The queues in priority order (the dict was made in it): iterating the enum itself is
        # slower than this whole loop usually is.
        for waiting in self._waiting.values():
            for waiter in waiting:
                chat = waiter.chat_id
                if chat is None:
                    return waiter, None
                if chat in self._chats_busy:
                    continue
                ready_at = self._chat_next.get(chat, 0.0)
                if ready_at <= now:
                    return waiter, None
                soonest = ready_at if soonest is None else min(soonest, ready_at)
        return None, soonest

    def _start(self, waiter: _Waiter, now: float) -> None:
        self._in_flight += 1
        if waiter.chat_id is not None:
            self._chats_busy.add(waiter.chat_id)
        # Advance from the planned slot, not the actual start, so timer lateness does not add
        # up over thousands of sends; after an idle spell, spacing restarts from now.
        gap = 1.0 / self.rate
        on_time = now - self._next_slot < gap
        self._next_slot = (self._next_slot if on_time else now) + gap
        self._grant(waiter)

    @staticmethod
    def _grant(waiter: _Waiter) -> None:
        if not waiter.granted.done():
            waiter.granted.set_result(None)

    def _release(self, waiter: _Waiter) -> None:
        if waiter.budget is not Budget.FREE:
            done = time.monotonic()
            self._in_flight -= 1
            self._releases.append(done + self._WINDOW)
            if waiter.chat_id is not None:
                self._chats_busy.discard(waiter.chat_id)
                if len(self._chat_next) >= self._prune_at:
                    self._prune(done)
                self._chat_next[waiter.chat_id] = done + self._per_chat_interval
        if self._free or any(self._waiting.values()):
            self._dispatch()  # the slot freed may be someone's (with nobody waiting, nothing to do)

    def _forget(self, waiter: _Waiter) -> None:
        queue = self._free if waiter.budget is Budget.FREE else self._waiting[waiter.priority]
        with contextlib.suppress(ValueError):
            queue.remove(waiter)
        self._dispatch()

    def _prune(self, now: float) -> None:
        # Chats whose interval has passed carry no state worth keeping.
        self._chat_next = {chat: at for chat, at in self._chat_next.items() if at > now}
        self._prune_at = max(1024, 2 * len(self._chat_next))

    def _wake_at(self, when: float) -> None:
        loop = asyncio.get_running_loop()
        # A timer may fire a hair early (the loop's clock resolution): dispatch re-arms then.
        self._timer = loop.call_at(loop.time() + max(0.0, when - time.monotonic()), self._dispatch)


class Slot:
    """One call's slot (see SendLimiter.slot). A class rather than an async generator: the
    event loop tracks every async generator made, a cost paid at each Bot API call."""

    __slots__ = ("_budget", "_chat_id", "_limiter", "_waiter")

    def __init__(self, limiter: SendLimiter, budget: Budget, chat_id: int | str | None) -> None:
        self._limiter = limiter
        self._budget = budget
        self._chat_id = chat_id
        self._waiter: _Waiter | None = None

    async def __aenter__(self) -> None:
        self._waiter = await self._limiter._acquire(self._budget, self._chat_id)

    async def __aexit__(self, *exc_info: object) -> None:
        if self._waiter is not None:
            self._limiter._release(self._waiter)
