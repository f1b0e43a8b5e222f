"""Request middleware through which every Bot API call passes: Telegram's limits, 429s, retries.

Every call that puts a message in a chat (or edits one) first waits for a slot of the one
``SendLimiter``, at the priority of its context (``sending_at``; an answer unless marked), so
handler code stays unaware of limits. aiogram raises ``TelegramRetryAfter`` on HTTP 429 and
never retries: here the limiter holds every call for the ``retry_after`` Telegram asks for
(its flood control is not limited to one request) and slows down, and the call is sent again,
for as long as Telegram only asks to wait: a message is never dropped for that; closing the
limiter (a stop) ends the wait. Network and 5xx failures are retried only where a repeat
cannot harm: a request that died after reaching Telegram may have been carried out, and
resending a ``sendMessage`` would show the person the same message twice.
"""

from __future__ import annotations

import asyncio
import logging
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

from bot.telegram.limiter import Budget, SendLimiter

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response, TelegramMethod

logger = logging.getLogger(__name__)

# Repeating these has the same effect as doing them once (at worst Telegram answers "message is
# not modified" / "message to delete not found" for an edit or delete that already happened).
_REPEATABLE_PREFIXES = ("get", "set", "delete", "edit", "answercallbackquery", "sendchataction")
# Calls that put a new message in a chat: Telegram's per-chat and global limits.
_MESSAGE_PREFIXES = ("send", "copymessage", "forwardmessage")
_NOT_MESSAGES = frozenset({"sendchataction"})


def is_repeatable(api_method: str) -> bool:
    """Whether the Bot API method can be sent again when its outcome is unknown."""
    return api_method.lower().startswith(_REPEATABLE_PREFIXES)


def budget_of(api_method: str) -> Budget | None:
    """What a call costs in Telegram's limits; None for long polling, which is not subject to
    flood control (holding it would only delay incoming updates)."""
    name = api_method.lower()
    if name == "getupdates":
        return None
    if name.startswith(_MESSAGE_PREFIXES) and name not in _NOT_MESSAGES:
        return Budget.MESSAGE
    if name.startswith("edit"):
        return Budget.EDIT
    return Budget.FREE


class FloodControlMiddleware(BaseRequestMiddleware):
    """Sends every call through ``limiter``, waits out 429s, retries transient failures of
    repeatable calls (``network_attempts`` in all, backoff doubling from ``network_backoff``)."""

    def __init__(
        self,
        limiter: SendLimiter,
        *,
        network_attempts: int = 3,
        network_backoff: float = 0.5,
    ) -> None:
        self.limiter = limiter
        self.network_attempts = network_attempts
        self.network_backoff = network_backoff

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        api_method = method.__api_method__
        budget = budget_of(api_method)
        if budget is None:
            return await make_request(bot, method)
        chat_id = getattr(method, "chat_id", None)
        failures = 0
        while True:
            try:
                async with self.limiter.slot(budget, chat_id):
                    try:
                        return await make_request(bot, method)
                    except TelegramRetryAfter as error:
                        # Before the slot is released: nothing else may start into the ban.
                        self.limiter.flooded(error.retry_after)
                        logger.warning(
                            "Telegram flood control on %s: pausing sends for %s s",
                            api_method,
                            error.retry_after,
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
