"""Top-ups: /topup and the shop's Top up button offer providers and amounts; a Stars invoice,
its pre-checkout and its payment; a Crypto Pay invoice and its check button; the admins'
/refund_stars. Thin: the rules are bot.services.topups, the texts bot.views.topups.

The payments' router is included before every other: a `successful_payment` message or a
pre-checkout query taken by another handler would be money not credited or a query not
answered within Telegram's 10 s.
"""

from __future__ import annotations

import html

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    LabeledPrice,
    Message,
    PreCheckoutQuery,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.handlers.screens import remove_buttons
from bot.keyboards.callbacks import TopupCheck, TopupPick
from bot.payments.stars import STARS_CURRENCY
from bot.services.money import AmountError, parse_amount, to_minor_up
from bot.services.people import People
from bot.services.topups import RefundRefused, TopupService, TopupUnavailable
from bot.storage.fsm import set_dialog
from bot.storage.topups import Provider, Topup, TopupStatus
from bot.views import topups as views
from bot.views.shop import ShopMoney

OTHER = -1
# Kept in the conversation's data while the amount is asked: the provider chosen, and the
# state the question interrupted.
_PROVIDER = "topup_provider"
_BACK = "topup_back"


class TopupForm(StatesGroup):
    amount = State()


def _money(topups: TopupService) -> ShopMoney:
    return ShopMoney(topups.currency, topups.digits)


def _plain(topups: TopupService, minor: int) -> str:
    """An amount for plain-text places (invoice descriptions, button labels)."""
    return html.unescape(_money(topups)(minor))


def _bounds(settings: Settings, topups: TopupService, provider: Provider) -> tuple[int, int]:
    most = to_minor_up(settings.topup_max_amount, topups.digits)
    return to_minor_up(settings.topup_min_amount, topups.digits), topups.most(provider, most)


def amounts_keyboard(
    settings: Settings, topups: TopupService, provider: Provider
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    _, most = _bounds(settings, topups, provider)
    for amount in settings.topup_amounts:
        minor = to_minor_up(amount, topups.digits)
        if minor > most:
            continue
        builder.button(
            text=_plain(topups, minor),
            callback_data=TopupPick(provider=provider.value, minor=minor),
        )
    builder.button(
        text=views.other_amount_label(),
        callback_data=TopupPick(provider=provider.value, minor=OTHER),
    )
    builder.adjust(4)
    return builder.as_markup()


def providers_keyboard(topups: TopupService) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for provider in topups.providers:
        builder.button(
            text=views.provider_label(provider),
            callback_data=TopupPick(provider=provider.value, minor=0),
        )
    builder.adjust(1)
    return builder.as_markup()


def offer(settings: Settings, topups: TopupService) -> tuple[str, InlineKeyboardMarkup | None]:
    """What /topup and the Top up button answer: the providers or the amounts, or that none
    is on."""
    providers = topups.providers
    if not providers:
        return views.none_available(), None
    if len(providers) > 1:
        return views.choose_provider(), providers_keyboard(topups)
    return views.choose_amount(), amounts_keyboard(settings, topups, providers[0])


async def topup_command(message: Message, topups: TopupService, settings: Settings) -> None:
    text, markup = offer(settings, topups)
    await message.answer(text, reply_markup=markup)


async def picked(
    callback: CallbackQuery,
    callback_data: TopupPick,
    topups: TopupService,
    settings: Settings,
    state: FSMContext,
    bot: Bot,
) -> None:
    provider = next((p for p in topups.providers if p.value == callback_data.provider), None)
    if provider is None:
        await callback.answer(views.none_available(), show_alert=True)
        return
    assert callback.message is not None
    least, most = _bounds(settings, topups, provider)
    if callback_data.minor == 0:
        await callback.answer()
        await bot.send_message(
            callback.message.chat.id,
            views.choose_amount(),
            reply_markup=amounts_keyboard(settings, topups, provider),
        )
        return
    if callback_data.minor == OTHER:
        await callback.answer()
        data = await state.get_data()
        current = await state.get_state()
        # The question sits on what the person was doing (an order to confirm, say), which
        # comes back once the amount is taken.
        back = data.get(_BACK) if current == TopupForm.amount.state else current
        await set_dialog(state, TopupForm.amount, data | {_PROVIDER: provider.value, _BACK: back})
        await bot.send_message(
            callback.message.chat.id, views.ask_amount(_money(topups), least, most)
        )
        return
    if not least <= callback_data.minor <= most:
        await callback.answer(views.bad_amount(_money(topups), least, most), show_alert=True)
        return
    await callback.answer()
    chat_id, user_id = callback.message.chat.id, callback.from_user.id
    await _start(bot, chat_id, user_id, provider, callback_data.minor, topups, settings)


async def typed_amount(
    message: Message, state: FSMContext, topups: TopupService, settings: Settings, bot: Bot
) -> None:
    assert message.from_user is not None
    chosen = (await state.get_data()).get(_PROVIDER, Provider.STARS.value)
    provider = next((p for p in topups.providers if p.value == chosen), None)
    if provider is None:
        # Switched off since it was chosen (a restart keeps the question): what is on now.
        await _leave_question(state)
        text, markup = offer(settings, topups)
        await message.answer(text, reply_markup=markup)
        return
    least, most = _bounds(settings, topups, provider)
    try:
        minor = parse_amount(message.text or "", topups.digits)
    except AmountError:
        minor = 0
    if not least <= minor <= most:
        await message.answer(views.bad_amount(_money(topups), least, most))
        return
    await _leave_question(state)
    await _start(bot, message.chat.id, message.from_user.id, provider, minor, topups, settings)


async def _leave_question(state: FSMContext) -> None:
    """Back to what the amount's question interrupted, its answers kept."""
    data = await state.get_data()
    back = data.get(_BACK)
    rest = {k: v for k, v in data.items() if k not in (_PROVIDER, _BACK)}
    await set_dialog(state, back, rest)


async def _start(
    bot: Bot,
    chat_id: int,
    user_id: int,
    provider: Provider,
    minor: int,
    topups: TopupService,
    settings: Settings,
) -> None:
    if provider is Provider.STARS:
        await _invoice(bot, chat_id, user_id, minor, topups)
        return
    try:
        topup = await topups.start_cryptopay(user_id, minor, views.stars_title())
    except TopupUnavailable:
        await bot.send_message(chat_id, views.crypto_unavailable())
        return
    await bot.send_message(
        chat_id,
        views.crypto_invoice(
            _money(topups), minor, settings.cryptopay_assets, settings.cryptopay_invoice_minutes
        ),
        reply_markup=crypto_keyboard(topups, topup),
    )


def crypto_keyboard(topups: TopupService, topup: Topup) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    assert topup.invoice_url is not None
    builder.button(text=views.pay_button(_plain(topups, topup.amount)), url=topup.invoice_url)
    builder.button(text=views.check_button(), callback_data=TopupCheck(id=topup.id))
    builder.adjust(1)
    return builder.as_markup()


async def check(callback: CallbackQuery, callback_data: TopupCheck, topups: TopupService) -> None:
    """'I have paid': look now (the worker looks too); a paid or expired invoice loses its
    buttons (the receipt comes from the payment's crediting)."""
    topup = await topups.check_invoice(callback_data.id, callback.from_user.id)
    if topup is not None and topup.status is TopupStatus.PENDING:
        await callback.answer(views.not_paid_yet(), show_alert=True)
        return
    if topup is not None and topup.status is TopupStatus.EXPIRED:
        await callback.answer(views.expired(), show_alert=True)
    else:
        await callback.answer()
    await remove_buttons(callback)


async def _invoice(bot: Bot, chat_id: int, user_id: int, minor: int, topups: TopupService) -> None:
    # The top-up is recorded first: a payment can only ever match a top-up we know of.
    topup = await topups.start_stars(user_id, minor)
    assert topup.stars is not None
    await bot.send_invoice(
        chat_id,
        title=views.stars_title(),
        description=views.stars_description(_plain(topups, minor)),
        payload=topup.payload,
        currency=STARS_CURRENCY,
        prices=[LabeledPrice(label=views.stars_price_label(), amount=topup.stars)],
    )


async def pre_checkout(query: PreCheckoutQuery, topups: TopupService, people: People) -> None:
    payer = query.from_user.id
    banned = await people.turned_away(payer)  # as the ban gate judges messages
    refusal = await topups.pre_checkout(
        payer, query.invoice_payload, query.currency, query.total_amount, banned=banned
    )
    if refusal is None:
        await query.answer(ok=True)
    else:
        await query.answer(ok=False, error_message=views.checkout_refusal(refusal))


async def paid(message: Message, topups: TopupService) -> None:
    payment = message.successful_payment
    assert payment is not None and message.from_user is not None
    credited = await topups.stars_paid(
        message.from_user.id,
        payment.invoice_payload,
        payment.telegram_payment_charge_id,
        payment.currency,
        payment.total_amount,
    )
    if credited is None:
        return  # logged by the service for the admins: money for no top-up of ours
    fmt = _money(topups)
    if credited.fresh:
        await message.answer(views.receipt(fmt, credited.amount, credited.balance))
    else:
        await message.answer(views.already_credited(fmt, credited.balance))


async def refunded(message: Message, topups: TopupService) -> None:
    refund = message.refunded_payment
    assert refund is not None
    await topups.stars_refunded(refund.telegram_payment_charge_id)


async def refund_stars(
    message: Message, command: CommandObject, topups: TopupService, bot: Bot
) -> None:
    args = (command.args or "").split()
    if len(args) != 1:
        await message.answer(views.refund_usage())
        return

    async def refund(user_id: int, charge_id: str) -> None:
        try:
            await bot.refund_star_payment(user_id, charge_id)
        except TelegramBadRequest as refused:
            raise RefundRefused(refused.message) from None

    outcome = await topups.refund_stars(args[0], refund)
    await message.answer(views.refund_outcome(_money(topups), args[0], outcome))


def create_router() -> Router:
    """Customers' top-ups. A new router each time: a router can belong to one Dispatcher."""
    router = Router(name="topup")
    router.message(Command("topup"))(topup_command)
    router.callback_query(TopupPick.filter())(picked)
    router.callback_query(TopupCheck.filter())(check)
    router.message(StateFilter(TopupForm.amount), F.text)(typed_amount)
    return router


def create_payments_router() -> Router:
    router = Router(name="payments")
    router.pre_checkout_query()(pre_checkout)
    router.message(F.successful_payment)(paid)
    router.message(F.refunded_payment)(refunded)
    return router


def create_admin_router() -> Router:
    router = Router(name="topup-admin")
    router.message(Command("refund_stars"))(refund_stars)
    return router
