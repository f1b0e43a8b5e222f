"""Request middleware that honours Telegram's flood control and retries safe calls.

aiogram raises ``TelegramRetryAfter`` on HTTP 429 and never retries. This middleware waits the
``retry_after`` Telegram asks for, for the whole bot (Telegram's flood control is not limited to
one request), and resends. Network and 5xx failures are retried only where a repeat cannot harm:
a request that died after reaching Telegram may have been carried out, and resending a
``sendMessage`` would show the person the same message twice.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods.base import TelegramType
from aiohttp import ClientConnectorError, ConnectionTimeoutError

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response, TelegramMethod

logger = logging.getLogger(__name__)

# Repeating these has the same effect as doing them once (at worst Telegram answers "message is
# not modified" / "message to delete not found" for an edit or delete that already happened).
_REPEATABLE_PREFIXES = ("get", "set", "delete", "edit", "answercallbackquery", "sendchataction")
# Long polling is not subject to flood control; pausing it would only delay incoming updates.
_NEVER_PAUSED = frozenset({"getupdates"})


def is_repeatable(api_method: str) -> bool:
    """Whether the Bot API method can be sent again when its outcome is unknown."""
    return api_method.lower().startswith(_REPEATABLE_PREFIXES)


class RetryAfterMiddleware(BaseRequestMiddleware):
    """Retries 429 answers after ``retry_after`` and transient failures of repeatable calls.

    A ``retry_after`` above ``max_wait`` seconds is not waited out here: the error goes to the
    caller, which can reschedule the work instead of holding a handler for minutes, and every
    call made before that pause ends gets the same error without reaching Telegram.
    """

    def __init__(
        self,
        *,
        max_attempts: int = 5,
        max_wait: float = 60.0,
        network_attempts: int = 3,
        network_backoff: float = 0.5,
    ) -> None:
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.network_attempts = network_attempts
        self.network_backoff = network_backoff
        self._pause_until = 0.0

    @property
    def paused_for(self) -> float:
        """Seconds left of the bot-wide pause Telegram asked for (0 when not paused)."""
        return max(0.0, self._pause_until - time.monotonic())

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        api_method = method.__api_method__
        flood_attempts = 0
        failures = 0
        while True:
            if api_method.lower() not in _NEVER_PAUSED:
                await self._wait_pause(method)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                flood_attempts += 1
                # Recorded even when too long to wait out: every other call must hold off too.
                self._pause_until = max(self._pause_until, time.monotonic() + error.retry_after)
                if flood_attempts >= self.max_attempts or error.retry_after > self.max_wait:
                    raise
                logger.warning(
                    "Telegram flood control on %s: pausing requests for %s s (attempt %d)",
                    api_method,
                    error.retry_after,
                    flood_attempts,
                )
            except (TelegramNetworkError, TelegramServerError) as error:
                failures += 1
                if failures >= self.network_attempts or not _may_resend(api_method, error):
                    raise
                delay = self.network_backoff * 2 ** (failures - 1)
                logger.warning(
                    "%s failed (%s), retrying in %.1f s", api_method, type(error).__name__, delay
                )
                await asyncio.sleep(delay)

    async def _wait_pause(self, method: TelegramMethod[TelegramType]) -> None:
        # Loop: another request may extend the pause while this one sleeps.
        while (delay := self._pause_until - time.monotonic()) > 0:
            if delay > self.max_wait:
                # As Telegram would answer, without asking it during its own ban.
                raise TelegramRetryAfter(
                    method=method,
                    message="Too Many Requests: flood control still in force",
                    retry_after=math.ceil(delay),
                )
            await asyncio.sleep(delay)


def _may_resend(api_method: str, error: TelegramNetworkError | TelegramServerError) -> bool:
    if isinstance(error, TelegramEntityTooLarge):
        return False  # the same upload will be too large again
    return is_repeatable(api_method) or never_sent(error)


def never_sent(error: Exception) -> bool:
    """Whether a failed request provably never reached Telegram (no connection was made),
    so that sending it again cannot duplicate anything."""
    return isinstance(error, TelegramNetworkError) and isinstance(
        error.__cause__, ClientConnectorError | ConnectionTimeoutError
    )
