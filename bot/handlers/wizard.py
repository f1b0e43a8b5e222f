"""The order wizard: one question per step, a priced confirmation, and exactly one order."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.domain import Placement
from bot.handlers.screens import is_answer, remove_buttons, reply, show
from bot.handlers.shop import checkout_reply, confirmation_lines
from bot.i18n import _, format_number
from bot.keyboards import menus
from bot.keyboards.callbacks import ConfirmOrder, StartOrder, WizardStep
from bot.panel.errors import PanelError
from bot.panel.models import Balance, Service
from bot.services.accounts import Account
from bot.services.catalog import CatalogService
from bot.services.order_form import (
    FieldKind,
    FieldSpec,
    InvalidAnswer,
    ParsedValue,
    add_list_part,
    finish_list,
    is_complete,
    may_continue,
    next_field,
    order_quantity,
    parse_answer,
    previous_field,
    quote_for,
)
from bot.services.ordering import OrderService, PlacementResult
from bot.services.pricing import Quote
from bot.services.shop import ShopService
from bot.services.shop_pricing import Charge
from bot.storage.fsm import set_dialog
from bot.storage.repositories import FailureKind, OrderRepository
from bot.texts import (
    field_label,
    field_prompt,
    invalid_answer,
    list_received,
    money,
    order_title,
    panel_failure,
    panel_message,
)
from bot.views.markup import MESSAGE_LIMIT, Limit, escaped, fit, visible_length

LIST_PREVIEW = 5

log = logging.getLogger(__name__)


class OrderWizard(StatesGroup):
    answering = State()
    confirming = State()


class Draft:
    """The wizard's state as kept in the FSM storage (JSON): a service snapshot and answers.

    The list question being answered collects its items in `collected` until every part of a
    long paste is in (`order_form.may_continue`). `quote` is the price on the confirmation
    screen: what the order records, if the catalogue still agrees when Confirm is pressed;
    in a shop, `charge` is what Confirm takes from the wallet for it.
    """

    def __init__(self, service: Service, label: str) -> None:
        self.service = service
        self.label = label
        self.answers: dict[str, Any] = {}
        self.token: str | None = None
        self.quote: Quote | None = None
        self.charge: Charge | None = None
        self.collected: list[str] = []

    @classmethod
    def read(cls, data: dict[str, Any]) -> Draft:
        draft = cls(Service.model_validate(data["service"]), data["label"])
        draft.answers = dict(data.get("answers", {}))
        draft.token = data.get("token")
        quote = data.get("quote")
        draft.quote = Quote.model_validate(quote) if quote is not None else None
        charge = data.get("charge")
        draft.charge = Charge.model_validate(charge) if charge is not None else None
        draft.collected = list(data.get("collected", []))
        return draft

    @classmethod
    def new(cls, service: Service, account: Account) -> Draft:
        return cls(service, account.label)

    def as_data(self) -> dict[str, Any]:
        return {
            "service": self.service.model_dump(mode="json"),
            "label": self.label,
            "answers": self.answers,
            "token": self.token,
            "quote": self.quote.model_dump(mode="json") if self.quote is not None else None,
            "charge": self.charge.model_dump(mode="json") if self.charge is not None else None,
            "collected": self.collected,
        }

    def unconfirmed(self) -> None:
        """An answer changes: the confirmation shown before no longer stands."""
        self.token = None
        self.quote = None
        self.charge = None

    async def save(self, state: FSMContext) -> None:
        await state.update_data(self.as_data())


async def _draft(state: FSMContext) -> Draft | None:
    """The saved form; None when there is none or it cannot be read (an older bot's format)."""
    data = await state.get_data()
    if "service" not in data:
        return None
    try:
        return Draft.read(data)
    except (KeyError, TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        log.warning("unreadable order form dropped: %s", type(exc).__name__)
        return None


async def start_order(
    callback: CallbackQuery,
    callback_data: StartOrder,
    state: FSMContext,
    account: Account,
    shop: ShopService | None,
    catalog: CatalogService,
) -> None:
    service = (await catalog.get(account)).by_id.get(callback_data.service)
    if service is None:
        await callback.answer(_("This service is no longer offered."), show_alert=True)
        return
    draft = Draft.new(service, account)
    await set_dialog(state, OrderWizard.answering, draft.as_data())
    await _ask(callback, state, draft, account, shop)  # as written: no reading it back


async def _ask(
    event: Message | CallbackQuery,
    state: FSMContext,
    draft: Draft,
    account: Account,
    shop: ShopService | None,
    note: str = "",
) -> None:
    spec = next_field(draft.service, draft.answers)
    if spec is None:
        await _confirm_screen(event, state, draft, account, shop)
        return
    await state.set_state(OrderWizard.answering)
    text = f"<b>{escaped(draft.service.name, Limit.NAME)}</b>\n\n{field_prompt(spec)}"
    if draft.collected:
        text += "\n\n" + list_received(spec, len(draft.collected))
    if note:
        text = f"{note}\n\n{text}"
    markup = menus.wizard_step(
        spec, can_go_back=bool(draft.answers or draft.collected), collecting=bool(draft.collected)
    )
    await reply(event, text, markup)


async def answer_text(
    message: Message, state: FSMContext, account: Account, shop: ShopService | None
) -> None:
    draft = await _draft(state)
    assert message.text is not None
    if draft is None:
        await state.clear()
        await message.answer(_("This order form has expired. Start again with /new."))
        return
    spec = next_field(draft.service, draft.answers)
    if spec is None:
        await _confirm_screen(message, state, draft, account, shop)
    elif spec.kind is FieldKind.LINES:
        await _collect(message, state, draft, account, shop, spec, message.text)
    else:
        await _accept(message, state, draft, account, shop, spec, message.text)


async def answer_not_text(message: Message) -> None:
    await message.answer(_("Please answer with text, or press Cancel."))


async def _accept(
    event: Message | CallbackQuery,
    state: FSMContext,
    draft: Draft,
    account: Account,
    shop: ShopService | None,
    spec: FieldSpec,
    text: str,
) -> None:
    try:
        value = parse_answer(spec, draft.service, text, draft.answers)
    except InvalidAnswer as error:
        await _ask(event, state, draft, account, shop, note="❗ " + invalid_answer(error))
        return
    await _store(event, state, draft, account, shop, spec, value)


async def _store(
    event: Message | CallbackQuery,
    state: FSMContext,
    draft: Draft,
    account: Account,
    shop: ShopService | None,
    spec: FieldSpec,
    value: ParsedValue | None,
) -> None:
    draft.answers[spec.name] = value
    draft.collected = []
    draft.unconfirmed()
    await draft.save(state)
    await _ask(event, state, draft, account, shop)


async def _collect(
    message: Message,
    state: FSMContext,
    draft: Draft,
    account: Account,
    shop: ShopService | None,
    spec: FieldSpec,
    text: str,
) -> None:
    """One message of a list answer: kept while more parts of a split paste may follow.

    Each part is saved before the next is handled (one person's updates are handled one at a
    time), so parts are neither lost nor taken twice, even across a restart.
    """
    try:
        items = add_list_part(spec, draft.collected, text)
    except InvalidAnswer as error:
        await _ask(message, state, draft, account, shop, note="❗ " + invalid_answer(error))
        return
    if may_continue(text):
        draft.collected = items
        await draft.save(state)
        await _ask(message, state, draft, account, shop)
        return
    await _finish_list(message, state, draft, account, shop, spec, items)


async def _finish_list(
    event: Message | CallbackQuery,
    state: FSMContext,
    draft: Draft,
    account: Account,
    shop: ShopService | None,
    spec: FieldSpec,
    items: list[str],
) -> None:
    try:
        value = finish_list(spec, items)
    except InvalidAnswer as error:
        if draft.collected:  # parts came before: kept, so that more lines can be added
            draft.collected = items
            await draft.save(state)
        await _ask(event, state, draft, account, shop, note="❗ " + invalid_answer(error))
        return
    await _store(event, state, draft, account, shop, spec, value)


async def step_button(
    callback: CallbackQuery,
    callback_data: WizardStep,
    state: FSMContext,
    account: Account,
    shop: ShopService | None,
) -> None:
    draft = await _draft(state)
    if draft is None:
        await state.clear()
        await callback.answer(_("This order form has expired."), show_alert=True)
        return
    if callback_data.action == "cancel":
        await state.clear()
        await show(callback, _("Order cancelled. Nothing was placed."))
        return
    if callback_data.action == "back":
        if draft.collected:  # first the parts of the list being sent
            draft.collected = []
        else:
            previous = previous_field(draft.service, draft.answers)
            if previous is not None:
                draft.answers.pop(previous.name, None)
        draft.unconfirmed()
        await draft.save(state)
        await _ask(callback, state, draft, account, shop)
        return
    spec = next_field(draft.service, draft.answers)
    if spec is None or spec.name != callback_data.field:
        await callback.answer(_("This question was already answered."))
        return
    if callback_data.action == "skip" and spec.optional:
        await _store(callback, state, draft, account, shop, spec, None)
    elif callback_data.action == "pick":
        await _accept(callback, state, draft, account, shop, spec, callback_data.value)
    elif callback_data.action == "done" and draft.collected:
        await _finish_list(callback, state, draft, account, shop, spec, draft.collected)
    else:
        await callback.answer()


async def stale_step(callback: CallbackQuery) -> None:
    await callback.answer(_("This order form has expired."), show_alert=True)


def _summary(draft: Draft) -> list[str]:
    lines = [f"<b>{escaped(draft.service.name, Limit.NAME)}</b>"]
    for name, value in draft.answers.items():
        if value is None:
            continue
        if isinstance(value, list):
            preview = "\n".join(f"  {escaped(item, Limit.ITEM)}" for item in value[:LIST_PREVIEW])
            more = len(value) - LIST_PREVIEW
            if more > 0:
                preview += "\n  " + _("… and {count} more").format(count=format_number(more))
            heading = _("{label} ({count}):").format(
                label=field_label(name), count=format_number(len(value))
            )
            lines.append(f"{heading}\n{preview}")
        else:
            shown = format_number(value) if isinstance(value, int) else escaped(value, Limit.LINK)
            # Translated: Japanese puts a full-width colon between a label and its value.
            lines.append(_("{label}: {value}").format(label=field_label(name), value=shown))
    quantity = order_quantity(draft.service, draft.answers)
    runs = draft.answers.get("runs")
    if quantity is not None and isinstance(runs, int):
        lines.append(_("Total: {total}").format(total=format_number(quantity * runs)))
    return lines


async def _confirm_screen(
    event: Message | CallbackQuery,
    state: FSMContext,
    draft: Draft,
    account: Account,
    shop: ShopService | None,
) -> None:
    text, markup = await _confirmation(state, draft, account, shop)
    await reply(event, text, markup)


async def _confirmation(
    state: FSMContext, draft: Draft, account: Account, shop: ShopService | None, note: str = ""
) -> tuple[str, InlineKeyboardMarkup]:
    """The summary and its quote, made here once: the price shown is the price placed."""
    heading = _("<b>Please check your order</b>")
    if note:
        heading = f"{note}\n\n{heading}"
    if shop is None:
        lines = await _panel_price(draft, account)
    else:
        # The shop's price: the catalogue's service carries the customer's rate already.
        draft.quote = quote_for(draft.service, draft.answers, shop.currency, made_at=time.time())
        charge = await shop.quote_for(account, draft.service, draft.answers)
        assert charge is not None  # the shop's catalogue offers only priced services
        draft.charge = charge
        assert state.key is not None
        lines = await confirmation_lines(shop, state.key.user_id, charge)
    draft.token = uuid.uuid4().hex
    await draft.save(state)
    await state.set_state(OrderWizard.confirming)
    # The answers get the room the heading and the price leave: the price is never cut off.
    price_lines = "\n".join(lines)
    room = MESSAGE_LIMIT - visible_length(f"{heading}\n\n\n\n{price_lines}")
    summary = fit("\n".join(_summary(draft)), room)
    return f"{heading}\n\n{summary}\n\n{price_lines}", menus.confirmation(draft.token)


async def _panel_price(draft: Draft, account: Account) -> list[str]:
    """The quote in the panel's money, beside the panel balance."""
    balance = await _balance(account)
    currency = balance.currency if balance is not None else None
    quote = quote_for(draft.service, draft.answers, currency, made_at=time.time())
    draft.quote = quote
    if quote.price is None:
        lines = [_("Price: set by the panel when the order is placed.")]
    else:
        lines = [_("Price: <b>{price}</b>").format(price=money(quote.price, currency))]
    if balance is not None:
        lines.append(_("Your balance: {balance}").format(balance=money(balance.balance, currency)))
        if quote.price is not None and balance.balance < quote.price:
            lines.append(_("⚠️ The balance is lower than the price."))
    return lines


async def _balance(account: Account) -> Balance | None:
    """The balance beside the price is a courtesy: the confirmation shows without it.

    One attempt only: with every retry, a hanging panel would hold the screen for minutes.
    """
    try:
        return await account.panel.balance(retries=0)
    except PanelError:
        return None


async def confirm(
    callback: CallbackQuery,
    callback_data: ConfirmOrder,
    state: FSMContext,
    account: Account,
    catalog: CatalogService,
    ordering: OrderService,
    orders: OrderRepository,
    shop: ShopService | None,
) -> None:
    draft = await _draft(state)
    current = await state.get_state()
    if (
        draft is None
        or current != OrderWizard.confirming.state
        or draft.token != callback_data.token
    ):
        # A second press, another device, or an old confirmation: never a second order.
        done = await orders.get_by_intent(callback_data.token)
        if done is not None:
            await callback.answer(_("This order was already sent."), show_alert=True)
        else:
            await callback.answer(_("This confirmation has expired."), show_alert=True)
        return
    if draft.label != account.label:
        await state.clear()
        await callback.answer(_("Your panel key changed: start the order again."), show_alert=True)
        return
    # Answered at once: checking the price may take a moment, and a query expires.
    await callback.answer(_("Checking the price…"))
    await remove_buttons(callback)  # this confirmation is being handled
    quote = draft.quote
    try:
        # A catalogue fetched after the quote was made: did the rate change since?
        age = time.time() - quote.made_at if quote is not None else 0.0
        catalogue = await catalog.get(account, max_age=max(0.0, age))
    except PanelError as exc:
        await _send(
            callback, *await _confirmation(state, draft, account, shop, "❗ " + panel_failure(exc))
        )
        return
    service = catalogue.by_id.get(draft.service.service)
    if service is None or not is_complete(service, draft.answers):
        await state.clear()
        text = _(
            "This service is no longer offered as it was when you chose it, so nothing was "
            "placed. Please start again with /new."
        )
        await _send(callback, text, None)
        return
    # A confirmation kept across a restart may predate the shop (no charge) or its currency.
    unpriced = shop is not None and (draft.charge is None or draft.charge.currency != shop.currency)
    if (
        quote is None
        or unpriced
        or not quote_for(service, draft.answers, None, 0.0).same_terms(quote)
    ):
        # Never placed at a price the person did not see: a new quote, confirmed again.
        draft.service = service
        note = _("⚠️ The price has changed. Nothing was placed: check the new price and confirm.")
        await _send(callback, *await _confirmation(state, draft, account, shop, note))
        return
    assert callback.from_user is not None
    order: dict[str, Any] = {
        "intent_token": callback_data.token,
        "owner_id": callback.from_user.id,
        "account": account,
        "service": draft.service,
        "answers": draft.answers,
        "quote": quote,
    }
    if shop is not None:
        # A shop: the panel's balance checked, the wallet charged with the intent, then `add`.
        assert draft.charge is not None
        checkout = await shop.checkout(**order, charge=draft.charge)
        await state.clear()
        await _send(callback, *checkout_reply(shop, checkout, _outcome))
        return
    result = await ordering.place(**order)
    await state.clear()
    await _send(callback, *_outcome(result))


async def _send(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """A new message in the chat of an already answered button press."""
    if callback.message is not None:
        await callback.bot.send_message(  # type: ignore[union-attr]
            callback.message.chat.id, text, reply_markup=markup
        )


def _outcome(result: PlacementResult) -> tuple[str, InlineKeyboardMarkup | None]:
    order = result.order
    link = menus.order_link(order) if order is not None else None
    if result.duplicate:
        return _("This order was already sent."), link
    match result.placement:
        case Placement.PLACED:
            assert order is not None
            return _("✅ Placed: {title}. I will tell you when its status changes.").format(
                title=order_title(order)
            ), link
        case Placement.FAILED if result.failure is FailureKind.UNREACHABLE:
            return _(
                "❌ The panel is not answering, so the order was not placed. Please try again "
                "in a few minutes."
            ), None
        case Placement.FAILED:
            return _("❌ The panel did not accept the order: {reason}").format(
                reason=panel_message(result.panel_message or "")
            ), None
        case _:
            return _(
                "⚠️ The panel gave no clear answer. The order may have been placed; it will "
                "not be sent again, so do not repeat it. The operator has been told and will "
                "check it. See /orders."
            ), link


def create_router() -> Router:
    """A new router each time: a router can belong to one Dispatcher only."""
    router = Router(name="wizard")
    router.callback_query(StartOrder.filter())(start_order)
    router.message(OrderWizard.answering, F.text, is_answer)(answer_text)
    router.message(OrderWizard.answering, ~F.text)(answer_not_text)
    router.callback_query(WizardStep.filter(), OrderWizard.answering)(step_button)
    router.callback_query(WizardStep.filter(), OrderWizard.confirming)(step_button)
    router.callback_query(WizardStep.filter())(stale_step)
    router.callback_query(ConfirmOrder.filter())(confirm)
    return router
