"""A token bucket per person: a flood of presses is dropped without slowing anyone else."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.i18n import _
from bot.telegram.key_messages import delete_at_once, may_hold_key
from bot.telegram.payments import is_payment


class Buckets(Protocol):
    async def allow(self, user_id: int) -> bool:
        """True (and a token spent) if `user_id` may have one more update now."""
        ...


class TokenBuckets:
    """A token bucket per person in this process: `burst` updates at once, then `rate` a
    second (several instances share `bot.shared.flood.RedisTokenBuckets` instead)."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}

    async def allow(self, user_id: int) -> bool:
        now = self._clock()
        tokens, last = self._buckets.get(user_id, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        allowed = tokens >= 1.0
        self._buckets[user_id] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > 50_000:
            self._forget_full(now)
        return allowed

    def _forget_full(self, now: float) -> None:
        idle = self._burst / self._rate
        self._buckets = {u: b for u, b in self._buckets.items() if now - b[1] < idle}


class ThrottlingMiddleware(BaseMiddleware):
    """Drops what comes too fast; needs the FSM's `raw_state` (Dispatcher's own middleware)."""

    def __init__(self, buckets: Buckets) -> None:
        self._buckets = buckets
        # People told their key went unread, until an update of theirs is let through again:
        # one notice per flood, not one per dropped message.
        self._told: set[int] = set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or is_payment(event):
            return await handler(event, data)
        if await self._buckets.allow(user.id):
            self._told.discard(user.id)
            return await handler(event, data)
        if isinstance(event, CallbackQuery):
            await event.answer(_("Too fast, please wait a moment."))
        elif isinstance(event, Message) and may_hold_key(event, data.get("raw_state")):
            # A key must not stay in the chat. Dropped all the same rather than let through:
            # a flood must not become a flood of key checks at the panel.
            await delete_at_once(event)
            await self._tell_key_unread(event, user.id)
        return None

    async def _tell_key_unread(self, message: Message, user_id: int) -> None:
        if user_id in self._told:
            return
        if len(self._told) >= 10_000:
            self._told.clear()  # people who flooded and left: at worst one more notice each
        self._told.add(user_id)
        await message.answer(
            _(
                "Too fast: I deleted your message without reading it. Wait a moment, then send "
                "the key again."
            )
        )
