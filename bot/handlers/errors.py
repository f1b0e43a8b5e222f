"""The last line of defence: whatever a handler let slip becomes one clear sentence."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent

from bot.config import Settings
from bot.i18n import _
from bot.keyboards.callbacks import ConfirmOrder
from bot.panel.errors import PanelError, PanelRejected
from bot.storage.repositories import OrderRepository, UserRepository
from bot.texts import panel_failure

log = logging.getLogger(__name__)


async def _tell(event: ErrorEvent, bot: Bot, text: str) -> None:
    update = event.update
    if update.callback_query is not None:
        query = update.callback_query
        if query.message is not None:
            await bot.send_message(query.message.chat.id, text)
        # The handler may have answered the query already (Confirm does, before placing).
        with contextlib.suppress(TelegramBadRequest):
            await bot.answer_callback_query(query.id)
    elif update.message is not None:
        await bot.send_message(update.message.chat.id, text)


async def panel_error(event: ErrorEvent, bot: Bot, settings: Settings) -> None:
    exc = event.exception
    assert isinstance(exc, PanelError)
    if not isinstance(exc, PanelRejected):
        log.warning("panel unavailable while handling update %s: %s", event.update.update_id, exc)
    await _tell(event, bot, panel_failure(exc, shared_key=settings.shared_key_mode))


async def blocked(event: ErrorEvent, users: UserRepository) -> None:
    user = event.update.event.from_user if hasattr(event.update.event, "from_user") else None
    if user is not None:
        await users.set_blocked(user.id, True)


async def _confirmed_order(event: ErrorEvent, orders: OrderRepository) -> bool:
    """The failed update was a Confirm whose order is already recorded (and maybe placed)."""
    query = event.update.callback_query
    if query is None or not query.data:
        return False
    try:
        token = ConfirmOrder.unpack(query.data).token
    except (TypeError, ValueError):
        return False
    return await orders.get_by_intent(token) is not None


async def anything_else(event: ErrorEvent, bot: Bot, orders: OrderRepository) -> None:
    log.error(
        "update %s failed: %s",
        event.update.update_id,
        type(event.exception).__name__,
        exc_info=event.exception,
    )
    try:
        if await _confirmed_order(event, orders):
            # "Try again" here would buy the same thing twice.
            text = _(
                "Something went wrong after your order was sent. Do not order it again: "
                "see /orders for what became of it."
            )
        else:
            text = _(
                "Something went wrong on our side. Please try again, or send /cancel to start over."
            )
        await _tell(event, bot, text)
    except Exception:
        log.exception("could not tell the person about the failure")


def create_router() -> Router:
    """A new router each time: a router can belong to one Dispatcher only."""
    router = Router(name="errors")
    router.error(ExceptionTypeFilter(PanelError))(panel_error)
    router.error(ExceptionTypeFilter(TelegramForbiddenError))(blocked)
    router.error()(anything_else)
    return router
