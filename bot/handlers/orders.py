"""A person's orders: the list, one order's card, refresh, refill and cancel."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.config import Settings
from bot.domain import Placement
from bot.handlers.screens import reply, show
from bot.handlers.waiting import panel_wait
from bot.i18n import _, format_number
from bot.keyboards import menus
from bot.keyboards.callbacks import OrderAction, OrdersPage
from bot.services.accounts import Account, AccountResolver
from bot.services.ordering import OrderService, may_cancel, may_refill
from bot.services.paging import Page
from bot.storage.repositories import OrderRepository, OrderRow
from bot.texts import order_card, order_title, panel_message

PAGE_SIZE = menus.PAGE_SIZE
MAX_ORDER_ID_DIGITS = 18


async def orders_command(message: Message, orders: OrderRepository) -> None:
    assert message.from_user is not None
    await _list(message, orders, message.from_user.id, 0)


async def orders_page(
    callback: CallbackQuery, callback_data: OrdersPage, orders: OrderRepository
) -> None:
    await _list(callback, orders, callback.from_user.id, callback_data.page)


async def _list(
    event: Message | CallbackQuery, orders: OrderRepository, owner_id: int, number: int
) -> None:
    total = await orders.count_for_owner(owner_id)
    if total == 0:
        await show(event, _("You have no orders yet. Start one with /new."))
        return
    count = max(1, -(-total // PAGE_SIZE))
    number = min(max(number, 0), count - 1)
    rows = await orders.list_for_owner(owner_id, offset=number * PAGE_SIZE, limit=PAGE_SIZE)
    text = _("Your orders ({count}), newest first:", "Your orders ({count}), newest first:", total)
    await show(
        event, text.format(count=format_number(total)), menus.order_list(Page(rows, number, count))
    )


async def order_command(
    message: Message,
    command: CommandObject,
    orders: OrderRepository,
    ordering: OrderService,
    accounts: AccountResolver,
    account: Account,
    settings: Settings,
) -> None:
    assert message.from_user is not None
    raw = (command.args or "").strip().lstrip("#")
    if not raw.isdecimal() or not raw.isascii() or len(raw) > MAX_ORDER_ID_DIGITS:
        await message.answer(_("Send the order's number, for example: /order 23501"))
        return
    order = await orders.find_for_owner(message.from_user.id, int(raw))
    if order is None and not accounts.shared_mode:
        # Own-key mode: the panel answers only for orders of this person's own key.
        async with panel_wait(message, settings):
            order = await ordering.adopt(message.from_user.id, account, int(raw))
    if order is None:
        # Shared-key mode never asks the panel: someone else's order stays invisible.
        await message.answer(_("You have no order #{id}.").format(id=raw))
        return
    await message.answer(
        order_card(order, panel_charge=not settings.shop_mode), reply_markup=menus.order_card(order)
    )


async def _owned(
    callback: CallbackQuery, orders: OrderRepository, local_id: int
) -> OrderRow | None:
    order = await orders.get(local_id)
    if order is None or order.owner_id != callback.from_user.id:
        await callback.answer(_("Order not found."), show_alert=True)
        return None
    return order


def _same_account(order: OrderRow, account: Account) -> bool:
    return order.account == account.label


async def order_action(
    callback: CallbackQuery,
    callback_data: OrderAction,
    orders: OrderRepository,
    ordering: OrderService,
    account: Account,
    settings: Settings,
) -> None:
    order = await _owned(callback, orders, callback_data.id)
    if order is None:
        return
    action = callback_data.action
    if action == "card":
        await show(
            callback,
            order_card(order, panel_charge=not settings.shop_mode),
            menus.order_card(order),
        )
        return
    if order.placement is not Placement.PLACED or not _same_account(order, account):
        await callback.answer(
            _("This order can only be viewed: it was placed with another key or not placed."),
            show_alert=True,
        )
        return
    if action == "refresh":
        async with panel_wait(callback, settings):
            order = await ordering.refresh(order, account)
        await show(
            callback,
            order_card(order, panel_charge=not settings.shop_mode),
            menus.order_card(order),
        )
        await ordering.seen(order)
    elif action == "refill":
        await _refill(callback, order, ordering, account, settings)
    elif action == "cancel" and may_cancel(order):
        text = _("Cancel {title}? The panel decides whether it can still be cancelled.").format(
            title=order_title(order)
        )
        await show(callback, text, menus.cancel_confirmation(order))
    elif action == "cancel_yes" and may_cancel(order):
        await _cancel(callback, order, ordering, account, settings)
    else:
        await callback.answer(_("Not possible for this order now."), show_alert=True)


async def _refill(
    callback: CallbackQuery,
    order: OrderRow,
    ordering: OrderService,
    account: Account,
    settings: Settings,
) -> None:
    if not may_refill(order):
        await callback.answer(_("Not possible for this order now."), show_alert=True)
        return
    running = await ordering.open_refill(order)
    if running is not None:
        await callback.answer(
            _("A refill of this order is already under way: refill #{refill}.").format(
                refill=running.panel_refill_id
            ),
            show_alert=True,
        )
        return
    async with panel_wait(callback, settings):
        refill_id = await ordering.refill(order, account)
    text = _("♻️ Refill requested for {title}: refill #{refill}.").format(
        title=order_title(order), refill=refill_id
    )
    await reply(callback, text)


async def _cancel(
    callback: CallbackQuery,
    order: OrderRow,
    ordering: OrderService,
    account: Account,
    settings: Settings,
) -> None:
    async with panel_wait(callback, settings):
        refusal = await ordering.cancel(order, account)
    if refusal is None:
        text = _(
            "Cancel requested for {title}. The status will show Canceled when the panel has "
            "done it."
        ).format(title=order_title(order))
    else:
        text = _("The panel refused to cancel {title}: {reason}").format(
            title=order_title(order),
            reason=panel_message(refusal) if refusal else _("no reason given"),
        )
    await show(callback, text, menus.order_link(order))


def create_router() -> Router:
    """A new router each time: a router can belong to one Dispatcher only."""
    router = Router(name="orders")
    router.message(Command("orders"))(orders_command)
    router.message(F.text == menus.MENU_ORDERS)(orders_command)
    router.callback_query(OrdersPage.filter())(orders_page)
    router.message(Command("order"))(order_command)
    router.callback_query(OrderAction.filter())(order_action)
    return router
