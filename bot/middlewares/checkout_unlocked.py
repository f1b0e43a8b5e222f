"""A pre-checkout query never waits behind its payer's other updates.

aiogram's FSM middleware holds the person's event lock (bot.shared.isolation across
instances) around every update: a pre-checkout queued behind that person's slow handler (one
waiting on a hanging panel for up to its deadline) could miss Telegram's 10 s, and the payment
would fail. Its handler only reads the top-up from the database and keeps no conversation
state, so it runs without the lock; every other update is locked as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.types import TelegramObject, Update


class CheckoutUnlocked(FSMContextMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update) and event.pre_checkout_query is not None:
            data["fsm_storage"] = self.storage
            return await handler(event, data)
        return await super().__call__(handler, event, data)
