"""Customers of a shop: the wallet, the Top up button, and what the confirmation adds."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.handlers import topup
from bot.i18n import _
from bot.keyboards import menus
from bot.keyboards.callbacks import TopUp
from bot.services.ordering import PlacementResult
from bot.services.shop import Checkout, Outcome, ShopService
from bot.services.shop_pricing import Charge
from bot.services.topups import TopupService
from bot.views.shop import (
    ShopMoney,
    briefly_unavailable,
    refunded,
    short_at_confirmation,
    shortfall,
    top_up_help,
    wallet_balance,
)


def top_up_button() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("💳 Top up"), callback_data=TopUp().pack())
    return builder.as_markup()


def _money(shop: ShopService) -> ShopMoney:
    return ShopMoney(shop.currency, shop.digits)


async def balance(message: Message, shop: ShopService) -> None:
    assert message.from_user is not None
    amount = await shop.balance(message.from_user.id)
    await message.answer(wallet_balance(_money(shop), amount), reply_markup=top_up_button())


async def top_up(callback: CallbackQuery, topups: TopupService | None, settings: Settings) -> None:
    await callback.answer()
    if callback.message is None:
        return
    # Without a payment provider, top-ups go through an admin.
    text, markup = top_up_help(callback.from_user.id), None
    if topups is not None and topups.providers:
        text, markup = topup.offer(settings, topups)
    await callback.bot.send_message(  # type: ignore[union-attr]
        callback.message.chat.id, text, reply_markup=markup
    )


async def confirmation_lines(shop: ShopService, owner_id: int, charge: Charge) -> list[str]:
    fmt = _money(shop)
    wallet = await shop.balance(owner_id)
    lines = [
        _("Price: <b>{price}</b>").format(price=fmt(charge.amount)),
        wallet_balance(fmt, wallet),
    ]
    if wallet < charge.amount:
        lines.append(short_at_confirmation(fmt, charge.amount - wallet))
    return lines


def checkout_reply(
    shop: ShopService,
    checkout: Checkout,
    outcome: Callable[[PlacementResult], tuple[str, InlineKeyboardMarkup | None]],
) -> tuple[str, InlineKeyboardMarkup | None]:
    """What the person is told after Confirm: the usual outcome (`outcome`), or the shop's
    reasons nothing was ordered; with the refund when the charge went back."""
    fmt = _money(shop)
    if checkout.outcome is Outcome.SHORT:
        return shortfall(fmt, checkout.missing, checkout.balance), top_up_button()
    if checkout.outcome is Outcome.PANEL_FUNDS or checkout.placement is None:
        text, markup = briefly_unavailable(), None
    else:
        text, markup = outcome(checkout.placement)
    if checkout.refund is not None:
        text += "\n\n" + refunded(fmt, checkout.refund.amount, checkout.refund.balance_after)
    return text, markup


def create_router() -> Router:
    """A new router each time: a router can belong to one Dispatcher only."""
    router = Router(name="shop")
    router.message(Command("balance"))(balance)
    router.message(F.text == menus.MENU_BALANCE)(balance)
    router.callback_query(TopUp.filter())(top_up)
    return router
