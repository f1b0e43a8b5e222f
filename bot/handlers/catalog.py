"""Browsing the catalogue: categories, services, a service's card, search."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.config import Settings
from bot.handlers.screens import is_answer, show
from bot.handlers.waiting import panel_wait
from bot.i18n import _, format_number
from bot.keyboards import menus
from bot.keyboards.callbacks import CategoriesPage, CategoryPage, ServiceCard
from bot.services.accounts import Account
from bot.services.catalog import CatalogService
from bot.texts import service_card
from bot.views.markup import Limit, escaped

SEARCH_LIMIT = 20
MAX_QUERY_LENGTH = 100


class SearchForm(StatesGroup):
    query = State()


async def new_order(
    message: Message,
    state: FSMContext,
    account: Account,
    catalog: CatalogService,
    settings: Settings,
) -> None:
    await state.clear()
    await _categories(message, account, catalog, settings, 0)


async def categories_page(
    callback: CallbackQuery,
    callback_data: CategoriesPage,
    account: Account,
    catalog: CatalogService,
    settings: Settings,
) -> None:
    await _categories(callback, account, catalog, settings, callback_data.page)


async def _categories(
    event: Message | CallbackQuery,
    account: Account,
    catalog: CatalogService,
    settings: Settings,
    page: int,
) -> None:
    async with panel_wait(event, settings):
        catalogue = await catalog.get(account)
    if not catalogue.categories:
        await show(event, _("The panel offers no services right now."))
        return
    markup, _shown = menus.categories(catalogue, page)
    count = len(catalogue.services)
    text = _(
        "Choose a category ({count} service):", "Choose a category ({count} services):", count
    ).format(count=format_number(count))
    await show(event, text, markup)


async def category_page(
    callback: CallbackQuery,
    callback_data: CategoryPage,
    account: Account,
    catalog: CatalogService,
    settings: Settings,
) -> None:
    async with panel_wait(callback, settings):
        catalogue = await catalog.get(account)
    category = catalogue.category(callback_data.category)
    if category is None:
        await _categories(callback, account, catalog, settings, 0)
        return
    markup, _page = menus.services(category, callback_data.page)
    text = _("<b>{category}</b>\nChoose a service (ID, name, price per 1000):").format(
        category=escaped(category.name, Limit.NAME)
    )
    await show(callback, text, markup)


async def service(
    callback: CallbackQuery,
    callback_data: ServiceCard,
    account: Account,
    catalog: CatalogService,
    settings: Settings,
) -> None:
    async with panel_wait(callback, settings):
        catalogue = await catalog.get(account)
    found = catalogue.by_id.get(callback_data.service)
    if found is None:
        await callback.answer(_("This service is no longer offered."), show_alert=True)
        return
    category, page = callback_data.category, callback_data.page
    if category < 0:  # from a search: Back leads to the service's place in the catalogue
        category, page = catalogue.page_of(found, menus.PAGE_SIZE)
    markup = menus.service_card(found, category, page)
    await show(callback, service_card(found), markup)


async def search_command(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    account: Account,
    catalog: CatalogService,
    settings: Settings,
) -> None:
    if command.args:
        await state.clear()
        await _search(message, command.args, account, catalog, settings)
        return
    await _ask_query(message, state)


async def search_button(message: Message, state: FSMContext) -> None:
    await _ask_query(message, state)


async def _ask_query(message: Message, state: FSMContext) -> None:
    await state.set_state(SearchForm.query)
    await message.answer(_("Send a part of the service's name, or its ID."))


async def search_query(
    message: Message,
    state: FSMContext,
    account: Account,
    catalog: CatalogService,
    settings: Settings,
) -> None:
    assert message.text is not None
    await state.clear()
    await _search(message, message.text, account, catalog, settings)


async def _search(
    message: Message, query: str, account: Account, catalog: CatalogService, settings: Settings
) -> None:
    query = query.strip()[:MAX_QUERY_LENGTH]
    async with panel_wait(message, settings):
        catalogue = await catalog.get(account)
    found = catalogue.search(query)
    if not found:
        await message.answer(
            _("No service matches “{query}”. Try another word, or /new to browse.").format(
                query=escaped(query, MAX_QUERY_LENGTH)
            )
        )
        return
    text = _(
        "Found {count} service for “{query}”.", "Found {count} services for “{query}”.", len(found)
    ).format(count=format_number(len(found)), query=escaped(query, MAX_QUERY_LENGTH))
    if len(found) > SEARCH_LIMIT:
        text += " " + _("Showing the first {limit}: add words to narrow it.").format(
            limit=SEARCH_LIMIT
        )
    await message.answer(text, reply_markup=menus.search_results(found[:SEARCH_LIMIT]))


def create_router() -> Router:
    """A new router each time: a router can belong to one Dispatcher only."""
    router = Router(name="catalog")
    router.message(Command("new"))(new_order)
    router.message(F.text == menus.MENU_NEW)(new_order)
    router.callback_query(CategoriesPage.filter())(categories_page)
    router.callback_query(CategoryPage.filter())(category_page)
    router.callback_query(ServiceCard.filter())(service)
    router.message(Command("search"))(search_command)
    router.message(F.text == menus.MENU_SEARCH)(search_button)
    router.message(SearchForm.query, F.text, is_answer)(search_query)
    return router
