"""Inline and reply keyboards; every label goes through the translation layer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel import Locale, UnknownLocaleError

from bot.domain import Placement
from bot.i18n import _, __, current_language, format_number
from bot.keyboards.callbacks import (
    CategoriesPage,
    CategoryPage,
    ConfirmOrder,
    Noop,
    OrderAction,
    OrdersPage,
    PickLanguage,
    ServiceCard,
    StartOrder,
    WizardStep,
)
from bot.panel.models import Service
from bot.services.catalog import Catalogue, Category
from bot.services.order_form import FieldSpec
from bot.services.ordering import may_cancel, may_refill
from bot.services.paging import Page, paginate
from bot.storage.repositories import OrderRow
from bot.texts import order_button, service_button
from bot.views.markup import BUTTON_LIMIT, shorten

PAGE_SIZE = 10
CHOICES_A_ROW = 5

MENU_NEW = __("🛒 New order")
MENU_ORDERS = __("📦 My orders")
MENU_SEARCH = __("🔎 Search")
MENU_BALANCE = __("💰 Balance")
MENU_LANGUAGE = __("🌐 Language")
MENU_HELP = __("❓ Help")
MENU_LABELS = (MENU_NEW, MENU_ORDERS, MENU_SEARCH, MENU_BALANCE, MENU_LANGUAGE, MENU_HELP)


def main_menu() -> ReplyKeyboardMarkup:
    """The menu in the current language; one object per language, shared: send it, never
    change it."""
    return _main_menu(I18n.get_current(), current_language())


@lru_cache(maxsize=16)
def _main_menu(catalogues: I18n, language: str) -> ReplyKeyboardMarkup:
    # Built once per language (and set of catalogues): a builder deep-copies every button at
    # each step, which was a tenth of answering /help, and translating the labels again at
    # each answer was a few hundredths more.
    buttons = [KeyboardButton(text=str(label)) for label in MENU_LABELS]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True, is_persistent=True)


def _paging_row(
    builder: InlineKeyboardBuilder, page: Page[object], make: Callable[[int], CallbackData]
) -> None:
    if page.count <= 1:
        return
    row = []
    if page.has_previous:
        row.append(("◀️", make(page.number - 1)))
    row.append((f"{page.number + 1}/{page.count}", Noop()))
    if page.has_next:
        row.append(("▶️", make(page.number + 1)))
    builder.row(*(_button(text, data) for text, data in row))


def _button(text: str, data: CallbackData) -> InlineKeyboardButton:
    # A label is plain text (no HTML to escape); the panel's part of it may be of any length.
    return InlineKeyboardButton(text=shorten(text, BUTTON_LIMIT), callback_data=data.pack())


def categories(catalogue: Catalogue, number: int) -> tuple[InlineKeyboardMarkup, Page[Category]]:
    page = paginate(catalogue.categories, number, PAGE_SIZE)
    builder = InlineKeyboardBuilder()
    for category in page.items:
        label = f"{shorten(category.name, 48)} ({format_number(len(category.services))})"
        builder.row(_button(label, CategoryPage(category=category.index, page=0)))
    _paging_row(builder, page, lambda n: CategoriesPage(page=n))
    return builder.as_markup(), page


def services(category: Category, number: int) -> tuple[InlineKeyboardMarkup, Page[Service]]:
    page = paginate(category.services, number, PAGE_SIZE)
    builder = InlineKeyboardBuilder()
    for service in page.items:
        data = ServiceCard(service=service.service, category=category.index, page=page.number)
        builder.row(_button(service_button(service), data))
    _paging_row(builder, page, lambda n: CategoryPage(category=category.index, page=n))
    builder.row(_button(_("⬅️ Categories"), CategoriesPage(page=category.index // PAGE_SIZE)))
    return builder.as_markup(), page


def search_results(found: Sequence[Service]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for service in found:
        builder.row(_button(service_button(service), ServiceCard(service=service.service)))
    return builder.as_markup()


def service_card(service: Service, category: int, page: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(_button(_("🛒 Order"), StartOrder(service=service.service)))
    if category >= 0:
        builder.row(_button(_("⬅️ Back"), CategoryPage(category=category, page=page)))
    return builder.as_markup()


def wizard_step(
    spec: FieldSpec, *, can_go_back: bool, collecting: bool = False
) -> InlineKeyboardMarkup:
    """`collecting`: part of a list is in, and Done ends it."""
    # Rows made directly, without a builder: its export deep-copies every button, at each
    # question of every order (the choices are the order form's own constants, a handful,
    # well within Telegram's 100 buttons).
    rows: list[list[InlineKeyboardButton]] = []
    if collecting:
        rows.append([_button(_("✅ Done"), WizardStep(action="done", field=spec.name))])
    if spec.choices:
        picks = [
            _button(str(choice), WizardStep(action="pick", field=spec.name, value=str(choice)))
            for choice in spec.choices
        ]
        rows += [picks[i : i + CHOICES_A_ROW] for i in range(0, len(picks), CHOICES_A_ROW)]
    if spec.optional:
        rows.append([_button(_("⏭ Skip"), WizardStep(action="skip", field=spec.name))])
    nav = []
    if can_go_back:
        nav.append(_button(_("⬅️ Back"), WizardStep(action="back")))
    nav.append(_button(_("✖️ Cancel"), WizardStep(action="cancel")))
    rows.append(nav)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def confirmation(token: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("✅ Confirm"), ConfirmOrder(token=token))],
            [
                _button(_("⬅️ Back"), WizardStep(action="back")),
                _button(_("✖️ Cancel"), WizardStep(action="cancel")),
            ],
        ]
    )


def order_list(page: Page[OrderRow]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for order in page.items:
        builder.row(_button(order_button(order), OrderAction(action="card", id=order.id)))
    _paging_row(builder, page, lambda n: OrdersPage(page=n))
    return builder.as_markup()


def order_card(order: OrderRow) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if order.placement is Placement.PLACED:  # the panel knows nothing of the others
        row = [_button(_("🔄 Refresh"), OrderAction(action="refresh", id=order.id))]
        if may_refill(order):
            row.append(_button(_("♻️ Refill"), OrderAction(action="refill", id=order.id)))
        if may_cancel(order):
            row.append(_button(_("✖️ Cancel order"), OrderAction(action="cancel", id=order.id)))
        builder.row(*row)
    builder.row(_button(_("📦 My orders"), OrdersPage(page=0)))
    return builder.as_markup()


def cancel_confirmation(order: OrderRow) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(
        _button(_("Yes, cancel it"), OrderAction(action="cancel_yes", id=order.id)),
        _button(_("No"), OrderAction(action="card", id=order.id)),
    )
    return builder.as_markup()


def language_name(code: str) -> str:
    """The language's own name for itself (Babel's data): a new catalogue needs no code."""
    try:
        name = Locale.parse(code).get_display_name(code)
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:] if name else code


def languages(available: Sequence[str], current: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code in available:
        mark = "✅ " if code == current else ""
        builder.add(_button(mark + language_name(code), PickLanguage(code=code)))
    builder.adjust(3)
    return builder.as_markup()


def order_link(order: OrderRow) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(_button(_("📄 Order card"), OrderAction(action="card", id=order.id)))
    return builder.as_markup()
